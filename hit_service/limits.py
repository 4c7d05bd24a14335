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
the form's own fields. ``MAX_CONSOLE_BYTES`` — the requester console's uploads (signed-in
users only; the console bounds what it reads and multipart files spool to disk).
"""

from __future__ import annotations

MAX_REQUEST_BYTES = 512 * 1024
MAX_ANSWER_BYTES = 65_535
MAX_FORM_BYTES = 3 * MAX_ANSWER_BYTES + 64 * 1024
# The requester console (``/requester/…``) takes CSV uploads (up to 20 MB of reviewed results) and
# checks their size itself with a clear message; only a declared body over this is refused early.
MAX_CONSOLE_BYTES = 32 * 1024 * 1024
