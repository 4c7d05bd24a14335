"""Size limits on what a client may send, enforced before anything is parsed or authenticated.

``MAX_REQUEST_BYTES`` — the requester API's request body. MTurk's largest member is
``Question``: at most 65,535 bytes of UTF-8. JSON can triple that (botocore escapes every
non-ASCII character as ``\\uXXXX``: a 2-byte ``é`` becomes 6 bytes, a 4-byte character two
escapes, 12 bytes), so a legal Question can take 196,605 bytes on the wire. Every other member
MTurk bounds (Title 128, Description 2,000, Keywords 1,000, RequesterAnnotation 255 characters,
at most 10 qualification requirements, …) adds under 50 KB even fully escaped. 512 KiB keeps
more than 250 KiB of room for the members MTurk leaves unbounded (review policies, layout
parameters) while an unauthenticated client can make the service hold at most that much.

``MAX_ANSWER_BYTES`` — one assignment's answer as stored (QuestionFormAnswers XML), the same
65,535 bytes as a Question. ``MAX_FORM_BYTES`` — the body of a form posted to the worker site
(``/mturk/externalSubmit`` among them): the answer percent-encoded (up to 3 bytes per byte) and
the form's own fields. ``MAX_UPLOAD_BYTES`` — the requester console's two file uploads (a batch
CSV, at most 5 MB, and a reviewed results CSV, at most 20 MB, each checked again row by row by
``console/csvfiles.py``), with room for the multipart framing: larger bodies on those two paths
only, so the console can answer a too-large file with its own message.

``MAX_CSV_BYTES`` — a batch input file (MTurk's requester UI did not document its limit; 5 MB
holds well over 10,000 rows of URLs). ``MAX_REVIEW_CSV_BYTES`` — a reviewed results file, which
has every HIT and assignment column for every assignment (~600 bytes each: 30,000 assignments
are ~18 MB).
"""

from __future__ import annotations

import re

MAX_REQUEST_BYTES = 512 * 1024
MAX_ANSWER_BYTES = 65_535
MAX_FORM_BYTES = 3 * MAX_ANSWER_BYTES + 64 * 1024
MAX_CSV_BYTES = 5 * 1024 * 1024
MAX_REVIEW_CSV_BYTES = 20 * 1024 * 1024
MAX_UPLOAD_BYTES = 21 * 1024 * 1024
UPLOAD_PATHS = re.compile(r"^/requester/(projects/[^/]+/publish|batches/[^/]+/reviewed)$")
