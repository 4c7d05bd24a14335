"""Bring your own workforce: invitations and sign-up, e-mail, qualification tests, panel links, payouts.

``service.install`` wires it into the service: the worker-site and management routes, and e-mail delivery
of ``NotifyWorkers`` (the dashboard message stays; e-mail goes to workers with a confirmed address
who have not opted out). See hit_service/README.md, "Workforce".
"""
