"""The phase decided from each phase's facts, and the concurrency arithmetic: no CliRunner,
no AWS (the accounts themselves are built in test_phases.py)."""

from __future__ import annotations

import pytest
from query_migrate.phase import Phase, PhaseFacts, decide_phase
from query_migrate.phase_checks import reserved_fit

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
    Phase.EKS_GONE: PhaseFacts(
        deployed=True, alias_target="ecs", attached=True, eks_egress=False
    ),
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
