"""hitflow's MTurk-compatible HIT service.

Amazon closed Mechanical Turk on 2026-09-30; this package answers the requester API
(2017-01-17, JSON 1.1, the protocol every AWS SDK still speaks) so the pipelines keep working
against a service the project runs itself. The layout follows moto's per-service emulators:
``validation`` checks input against botocore's model, ``models`` holds the business rules,
``store`` the Postgres persistence, ``responses`` the wire protocol, ``pages`` the HTML views.
"""

from __future__ import annotations

TARGET_PREFIX = "MTurkRequesterServiceV20170117"
