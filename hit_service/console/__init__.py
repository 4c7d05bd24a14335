"""The requester console (``/requester``): projects, CSV batches, review and results in the browser."""
