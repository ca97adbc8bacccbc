"""The local stack: the whole chain as real processes on 127.0.0.1 (``nox -s serve``)."""
