"""The collect slice: assignments in, review decisions and bonuses out, one age per image."""
