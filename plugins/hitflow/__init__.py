"""hitflow: publish labelling HITs from PostgreSQL rows over the MTurk protocol with Airflow."""
