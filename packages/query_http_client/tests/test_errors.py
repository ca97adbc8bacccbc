"""Each client error is answered as the contract says, and the edge passes its detail on."""

from __future__ import annotations

import pytest
from query_core import error_answer, public_error_detail
from query_http_client import (
    CircuitOpenError,
    UpstreamBadResponseError,
    UpstreamMisconfiguredError,
    UpstreamThrottledError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
)


@pytest.mark.parametrize(
    ("error", "status", "detail", "retry_after"),
    [
        (
            UpstreamUnavailableError("refused"),
            503,
            "the results service is unavailable; retry later",
            "1",
        ),
        (
            UpstreamThrottledError("429", upstream_retry_after=4.2),
            503,
            "the results service is busy; retry later",
            "5",
        ),
        (CircuitOpenError(retry_after=7), 503, "the results service is failing; retry later", "7"),
        (UpstreamTimeoutError("slow"), 504, "the results service did not answer in time", None),
        (
            UpstreamBadResponseError("html"),
            502,
            "the results service answered something unusable",
            None,
        ),
        (
            UpstreamMisconfiguredError("403", error_type="x", likely_cause="y"),
            502,
            "the results service refused the call",
            None,
        ),
    ],
)
def test_each_error_is_the_contracts_answer(error, status, detail, retry_after):
    answer_status, headers, body = error_answer(error)
    assert (answer_status, body, headers.get("Retry-After")) == (
        status,
        {"detail": detail},
        retry_after,
    )
    assert public_error_detail(status, detail) == detail  # the edge passes it on unchanged
    assert detail not in str(error)  # the log says what happened, the client what to do
