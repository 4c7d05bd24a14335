# hitflow's image: the official Apache Airflow image at the version requirements.txt pins, plus
# what hitflow needs at run time (the Celery, Amazon and Postgres providers, psycopg, the HIT
# service's FastAPI/uvicorn) at requirements.txt's versions, plus the HIT service itself.
# docker-compose.yaml builds it once and runs every Airflow component and the HIT service from it.
# tests/compose/ checks that the tag, the pins and the lock agree.
# AIRFLOW_BASE_IMAGE picks another base with the same layout: `make images` builds one from Debian's
# packages and the host's wheels for sites without registry access (docker-compose.yaml passes it).
ARG AIRFLOW_BASE_IMAGE=apache/airflow:3.3.2-python3.11
FROM ${AIRFLOW_BASE_IMAGE}

USER airflow

# requirements.txt is the constraint: every package below, and everything they pull in, gets the
# locked version (Airflow included, so pip cannot move it). Test tools (pytest, ruff, playwright)
# stay out of the image.
COPY --chown=airflow:0 requirements.txt /opt/hitflow/requirements.txt
RUN pip install --no-cache-dir -c /opt/hitflow/requirements.txt \
      "apache-airflow==3.3.2" \
      apache-airflow-providers-amazon \
      apache-airflow-providers-celery \
      apache-airflow-providers-postgres \
      celery \
      redis \
      psycopg \
      psycopg-binary \
      psycopg-pool \
      psycopg2-binary \
      fastapi \
      jinja2 \
      python-multipart \
      uvicorn

# mturk_money (MTurk's money rules) and hitflow_csv (spreadsheet-safe CSV cells), standard library
# only, are what Airflow's DAGs and plugins need from /opt/hitflow; the HIT service
# (python -m hit_service) uses them too. hitflow's plugins never
# import hit_service. The DAGs, plugins and include/ are mounted by docker-compose.yaml, so editing
# them needs no rebuild; the service's code does.
COPY --chown=airflow:0 mturk_money /opt/hitflow/mturk_money
COPY --chown=airflow:0 hitflow_csv /opt/hitflow/hitflow_csv
COPY --chown=airflow:0 hit_service /opt/hitflow/hit_service
COPY --chown=airflow:0 include /opt/hitflow/include
ENV PYTHONPATH=/opt/hitflow \
    HITFLOW_LAYOUTS_DIR=/opt/hitflow/include/layouts \
    HITFLOW_INCLUDE_DIR=/opt/airflow/include \
    HITFLOW_OUTPUT_DIR=/opt/airflow/output

# Mount points that named volumes copy their ownership from (group 0 may write, as the official
# image arranges for /opt/airflow/logs): the simple auth manager's password file, the exports.
RUN mkdir -p /opt/airflow/auth /opt/airflow/output \
    && chmod -R g+rwX /opt/airflow/auth /opt/airflow/output
