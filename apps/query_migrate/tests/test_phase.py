"""The phase decided from each phase's facts, the concurrency arithmetic and what smoke expects
in each phase: no CliRunner, no AWS (the accounts themselves are built in test_phases.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from query_migrate._checks import Verdict
from query_migrate.phase import Phase, PhaseFacts, decide_phase
from query_migrate.phase_checks import reserved_fit
from query_migrate.smoke import smoke_plan
from query_migrate.smoke_logs import log_checks

EACH_PHASE = {
    Phase.NO_STACK: PhaseFacts(deployed=False),
    Phase.DEPLOYED_EKS: PhaseFacts(
        deployed=True, alias_target="eks", attached=False, eks_egress=True
    ),
    Phase.ATTACHED: PhaseFacts(deployed=True, alias_target="eks", attached=True, eks_egress=True),
    Phase.CANARY: PhaseFacts(
        deployed=True, alias_target="eks", weighted=True, attached=True, eks_egress=True
    ),
    Phase.ECS: PhaseFacts(deployed=True, alias_target="ecs", attached=True, eks_egress=True),
    Phase.EKS_GONE: PhaseFacts(deployed=True, alias_target="ecs", attached=True, eks_egress=False),
}


@pytest.mark.parametrize("phase", list(Phase))
def test_each_phase_is_decided_from_its_facts(phase: Phase) -> None:
    assert decide_phase(EACH_PHASE[phase]) is phase


def test_a_deployment_in_progress_is_the_canary_before_any_weight_moves() -> None:
    facts = PhaseFacts(deployed=True, alias_target="eks", deploying=True, attached=True)
    assert decide_phase(facts) is Phase.CANARY


def test_create_mode_is_attached_once_deployed() -> None:
    # No existing public API: the stack's own API invokes alias live from the first deploy.
    assert decide_phase(PhaseFacts(deployed=True, alias_target="eks")) is Phase.ATTACHED


def test_unknown_egress_is_not_taken_for_eks_gone() -> None:
    assert decide_phase(PhaseFacts(deployed=True, alias_target="ecs")) is Phase.ECS


def test_phases_before_attach_do_not_reach_the_new_alias() -> None:
    assert [p for p in Phase if not p.attached] == [Phase.NO_STACK, Phase.DEPLOYED_EKS]


@pytest.mark.parametrize(
    ("unreserved", "current", "asked", "needed", "largest"),
    [
        (1000, [0, 0], 50, 100, 450),  # a fresh account: plenty
        (150, [0, 0], 50, 100, 25),  # 50 above the floor: 25 each
        (900, [50, 50], 50, 0, 450),  # deployed: the reservations are already held
        (120, [50, 50], 80, 60, 60),  # a raise needs only the difference
        (100, [0, 0], 1, 2, 0),  # nothing left above the floor
    ],
)
def test_what_the_stack_still_reserves(unreserved, current, asked, needed, largest) -> None:
    assert reserved_fit(unreserved, current, asked) == (needed, largest)


def test_smoke_expects_the_final_state_when_no_phase_was_read() -> None:
    plan = smoke_plan(None, None)
    assert plan.marketing_retired is True
    assert set(plan.logs.values()) == {"required"}


@pytest.mark.parametrize("phase", [Phase.NO_STACK, Phase.DEPLOYED_EKS])
def test_before_attach_smoke_expects_the_old_path(phase: Phase) -> None:
    plan = smoke_plan(phase, False)
    assert plan.marketing_retired is False
    assert all("reaches the old Query Lambda" in why for why in plan.logs.values())


def test_attached_to_eks_only_the_query_lambda_logs_the_request() -> None:
    plan = smoke_plan(Phase.ATTACHED, True)
    assert plan.marketing_retired is True
    assert plan.logs["query-lambda"] == "required"
    assert "leads to EKS" in plan.logs["service"]


def test_in_the_canary_the_new_hops_are_optional() -> None:
    plan = smoke_plan(Phase.CANARY, False)  # marketing not retired yet: still served
    assert plan.marketing_retired is False
    assert plan.logs == {
        "query-lambda": "required",
        "service": "optional",
        "query-result-lambda": "optional",
    }


@pytest.mark.parametrize("phase", [Phase.ECS, Phase.EKS_GONE])
def test_at_ecs_every_hop_logs_the_request(phase: Phase) -> None:
    # create mode (None): the stack's own API answers 410 from alias live
    assert replace(smoke_plan(phase, None), phase=None) == smoke_plan(None, None)
    assert smoke_plan(phase, None).phase is phase  # alias live leads to the service


class _OnlyQueryLambdaLogged:
    """A log source in which only the Query Lambda's log has the request (EKS answered it)."""

    label = "test logs"

    def contains(self, hop: str, request_id: str, since_ms: int) -> bool | None:
        return hop == "query-lambda"


def test_a_canary_request_answered_by_eks_is_not_a_failure() -> None:
    plan = smoke_plan(Phase.CANARY, True)
    checks = log_checks(_OnlyQueryLambdaLogged(), "smoke-1", 0, 0.0, plan.logs)
    verdicts = {check.name: check.verdict for check in checks}
    assert verdicts == {
        "log: query-lambda": Verdict.OK,
        "log: service": Verdict.SKIPPED,
        "log: query-result-lambda": Verdict.SKIPPED,
    }
    assert "the canary sent the request the other way" in checks[1].detail
    # At ECS the same logs are a failure: the request should have crossed the service.
    final = log_checks(
        _OnlyQueryLambdaLogged(), "smoke-1", 0, 0.0, smoke_plan(Phase.ECS, True).logs
    )
    assert [check.verdict for check in final] == [Verdict.OK, Verdict.FAIL, Verdict.FAIL]
    assert final[1].fix
