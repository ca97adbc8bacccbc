"""``query-rehearsal`` (``nox -s rehearse``): the runbook run as written against the running
account emulated in moto's server; docs/decisions/0015-runbook-rehearsal.md.

moto's server is a child process, stopped whatever happens (and by the kernel if this process
dies: ``query_devstack.orphan_safe``); Lambda's calls go through a front that answers what
moto does not (``GetAccountSettings``, ``query_devstack.LambdaAccountFront``) and runs the real
handlers where the account says (``rehearsal.dataplane``), while a client pages through the
public API the whole time (``rehearsal.watch``). Exit 0 when every rehearsed block exits 0 and
the client saw nothing wrong; 1 when one fails or it did (the step named); 2 when the
rehearsal itself could not start.
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

from query_devstack import RUNNING_ACCOUNT, EmulatorProcess, RunningAccount, load_account

from rehearsal.canary import Canary
from rehearsal.dataplane import LambdaDataPlane, RestApiDataPlane
from rehearsal.deploy import Deployed, DeployError, clients, deploy
from rehearsal.failure import failed_canary
from rehearsal.metrics import Metrics, alb_publisher, api_publisher
from rehearsal.page import page, timeline
from rehearsal.proxy import HostProxy
from rehearsal.resources import Clients
from rehearsal.restored import Integrations
from rehearsal.run import run_blocks
from rehearsal.runbook import parse
from rehearsal.stage import block_environment, lay_out, missing_tools
from rehearsal.stagefront import StageKeepingFront
from rehearsal.standins import StandIns
from rehearsal.update import Shift, update
from rehearsal.watch import Watcher, table_contents

__all__ = ["main"]

#: The stack the runbook deploys (``cdk.json``'s app names it after the environment).
STACK = "QueryService-prod"
#: moto's own setting: the tasks it counts for each ECS service it creates (it runs none). The
#: stack's ``desiredCount`` (the CDK app's default, 2), so that the service is as a real deploy
#: leaves it: that many tasks running, its rollout complete; the deploy starts that many tasks
#: and registers them as the ALB's targets (``rehearsal.tasks.start_tasks``).
MOTO_SETTINGS = {"MOTO_ECS_SERVICE_RUNNING": "2"}


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="query-rehearsal", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=Path.cwd(), help="the repository's root")
    parser.add_argument("--runbook", type=Path, help="default: REPO/docs/runbook.md")
    parser.add_argument(
        "--page", type=Path, help="the transcript to write (default: REPO/docs/rehearsal.md)"
    )
    parser.add_argument("--no-page", action="store_true", help="write no transcript")
    return parser.parse_args(argv)


def _cannot_start(why: str) -> NoReturn:
    print(f"query-rehearsal: {why}", file=sys.stderr)
    sys.exit(2)


class _StackStep:
    """``rehearse instead: deploy``: the real synth's cdk.out created in moto; once the stack
    exists, the context synthesized again (as ``cdk deploy`` does) and the stack updated
    (``rehearsal.update``). Then, as ``cdk deploy`` waits for the ECS service's deployment,
    the data plane follows what the account's service runs now (``follow``)."""

    def __init__(
        self, cwd: Path, env: dict[str, str], *, aws: Callable[[], Clients], account: str,
        region: str, shift: Shift, follow: Callable[[], list[str]],
    ) -> None:  # fmt: skip
        self._cwd, self._env, self._aws = cwd, env, aws
        self._account, self._region, self._shift = account, region, shift
        self._follow = follow
        self.deployed: list[Deployed] = []

    def _followed(self, lines: list[str]) -> tuple[int, str]:
        try:
            lines += self._follow()
        except (RuntimeError, OSError) as exc:  # its new task did not start
            return 1, "\n".join([*lines, f"the ECS service's new task did not start: {exc}"])
        return 0, "\n".join(lines)

    def __call__(self) -> tuple[int, str]:
        aws = self._aws()
        if self.deployed:
            return self._update(self.deployed[0], aws)
        try:
            done = deploy(self._cwd / "infra" / "cdk.out", STACK, aws=aws,
                          account=self._account, region=self._region)  # fmt: skip
        except (DeployError, OSError) as exc:
            return 1, f"the deploy stopped: {exc}"
        self.deployed.append(done)
        lines = [f"{p.logical_id}  {p.type}  {p.part}: {p.reason}" for p in done.resources]
        lines.append(f"{STACK}: {len(done.resources)} resources in {done.waves} waves, "
                     f"{len(done.outputs)} outputs")  # fmt: skip
        return self._followed(lines)

    def _update(self, done: Deployed, aws: Clients) -> tuple[int, str]:
        npx = shutil.which("npx", path=self._env.get("PATH")) or "npx"  # missing_tools checked
        synth = subprocess.run(
            [npx, "aws-cdk@2", "synth", "--quiet"],
            cwd=self._cwd / "infra",
            env=self._env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=600,
            check=False,
        )
        if synth.returncode != 0:
            return synth.returncode, f"cdk synth failed:\n{synth.stdout}"
        try:
            changes = update(self._cwd / "infra" / "cdk.out", done, aws=aws, shift=self._shift)
        except (DeployError, OSError) as exc:
            return 1, f"the update stopped: {exc}"
        lines = [f"{c.logical_id}  {c.type}  updated: {c.done}" for c in changes]
        lines.append(f"{STACK}: {len(changes)} resources updated")
        return self._followed(lines)


def _with_public_api(
    hosts: Callable[[str], str | None], account: RunningAccount, stage_url: str
) -> Callable[[str], str | None]:
    """``hosts`` and the public API's own name (``https://<id>.execute-api.<region>.
    amazonaws.com``, as clients and ``smoke`` call it) -> the public front (``stage_url``
    without its stage: the path names it)."""
    name = f"{account.api_id}.execute-api.{account.region}.amazonaws.com"
    origin = urlsplit(stage_url)._replace(path="").geturl()
    return lambda host: origin if host == name else hosts(host)


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    repo = args.repo.resolve()
    runbook_path = args.runbook or repo / "docs" / "runbook.md"
    try:
        runbook = parse(runbook_path.read_text())
    except (OSError, ValueError) as exc:
        _cannot_start(f"{runbook_path}: {exc}")
    if missing := missing_tools(repo, os.environ.get("PATH", "")):
        _cannot_start(f"needs {'; '.join(missing)}")
    started = time.perf_counter()
    with (
        EmulatorProcess(settings=MOTO_SETTINGS) as moto,
        tempfile.TemporaryDirectory(prefix="rehearsal-") as root,
        tempfile.TemporaryDirectory(prefix="rehearsal-ca-") as ca_dir,
    ):
        print(f"moto's server on {moto.endpoint_url}; the account of {RUNNING_ACCOUNT}")
        account = load_account(moto.endpoint_url)
        standins = StandIns(moto.endpoint_url, region=account.region, table=account.table)
        front = LambdaDataPlane(moto.endpoint_url, hosts=standins.hosts(), region=account.region)
        apigateway = StageKeepingFront(moto.endpoint_url, region=account.region)
        public = RestApiDataPlane(moto.endpoint_url, front.url, api_id=account.api_id,
                                  users=account.users, stage=account.stage,
                                  region=account.region)  # fmt: skip
        proxy = HostProxy(_with_public_api(standins.hosts(), account, public.url), Path(ca_dir))
        expected = table_contents(moto.endpoint_url, account.table, account.users)
        watcher = Watcher(public.url, expected)
        env = block_environment(os.environ, endpoint_url=moto.endpoint_url, lambda_url=front.url,
                                region=account.region, http_proxy=proxy.url,
                                ca_file=proxy.ca_file,
                                apigateway_url=apigateway.url)  # fmt: skip
        cwd = lay_out(repo, Path(root))

        def aws() -> Clients:
            return clients(moto.endpoint_url, front.url, account.region)

        integrations = Integrations(aws()("apigateway"), account.api_id)  # as it is today
        metrics = Metrics()  # what API Gateway and the ALB would publish, as their fronts count
        standins.alb.on_answer = alb_publisher(aws()("elbv2"), metrics)
        public.on_answer = api_publisher(aws()("apigateway"), account.api_id, account.stage,
                                         metrics)  # fmt: skip
        canary = Canary(aws(), invoked=front.invoked, crashed=front.crashed, logs=front.logs,
                        metrics=metrics)  # fmt: skip
        stack = _StackStep(cwd, env, aws=aws, account=account.account, region=account.region,
                           shift=canary.run, follow=lambda: standins.follow(front.url))  # fmt: skip
        stopped = functools.partial(failed_canary, stack.deployed, aws=aws(), canary=canary,
                                    invoked=front.invoked, tolerate=watcher.tolerate)  # fmt: skip

        with standins, front, public, proxy, apigateway, watcher:
            print(f"the data plane: stand-ins {standins.eks_url} (EKS), {standins.alb_url} "
                  f"(ALB); Lambda {front.url}; the public API {public.url}; the blocks' "
                  f"http_proxy {proxy.url}")  # fmt: skip
            rehearsal = run_blocks(runbook, cwd=cwd, env=env, echo=print,
                                   instead={"deploy": stack, "failed-canary": stopped},
                                   before=lambda n, _block: watcher.mark(str(n)),
                                   after=integrations.after)  # fmt: skip
            watcher.mark("end")
    watched, watching, problems = watcher.summary([o.block.step for o in rehearsal.outcomes])
    print(timeline(rehearsal, watched))
    for line in watching:
        print(f"the watching client: {line}")
    for line in public.access_log.undelivered:
        print(f"the public API's access log: not delivered: {line}", file=sys.stderr)
    if not args.no_page:
        target = args.page or repo / "docs" / "rehearsal.md"
        fixture = "packages/query_devstack/src/query_devstack/accounts/running.toml"
        seconds = time.perf_counter() - started
        text = page(rehearsal, fixture=fixture, seconds=seconds, deployed=stack.deployed[:1],
                    watched=watched, watching=watching)  # fmt: skip
        target.write_text(text)
        print(f"wrote {target}")
    if rehearsal.failed or problems:
        if problems:
            print(f"FAILED: the watching client: {problems[0]}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
