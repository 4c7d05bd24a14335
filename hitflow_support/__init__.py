"""Test tooling that tests, ``scripts/demo.py`` and the bench share; never part of the product.

What is here drives the product from outside, as a person or a deployment would: start the HIT
service as a process (``service_process``), work HITs and the requester console through their
HTML forms (``crowd_client``, ``console_client``), throwaway Postgres databases (``pg``), what
the service holds (``service_queries``), a whole Airflow stack (``airflow_stack``).

The rule: this package may import ``hit_service`` and ``hitflow``; nothing under
``hit_service/``, ``plugins/`` or ``dags/`` may import it (``tests/unit/test_layering.py``).
Nothing under ``scripts/`` imports ``tests``; what scripts need from the tests lives here.
"""
