"""The publish slice: claim rows, validate them, create HITs per chunk, export the batch."""
