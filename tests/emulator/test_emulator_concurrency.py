"""Requests that arrive together are served as AWS serves them: an IAM call never fails because another one
changes IAM at the same time, and a burst of connections is queued, not dropped.

The races are reproduced exactly, without relying on timing: a probe placed among moto's roles pauses the
request that walks the roles, at the point where it reads the probe, until a role created through the API from
another thread has gone through (or, once the emulator serializes IAM calls, is waiting for its turn).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from devtools.emulator import Emulator
from tests.support.emulator import unique, zip_sources
from tests.support.tables import REGION

ACCOUNT = "123456789012"
TRUST = '{"Version": "2012-10-17", "Statement": []}'
# A request waiting for the emulator's IAM lock is a server thread whose innermost frame is in this file. (Without
# the lock, no thread is ever seen there, and the probe waits for the other call to finish.)
LOCK_MODULE = str(Path("devtools") / "emulator" / "concurrency.py")
SAFETY_TIMEOUT = 60.0


def iam_client(endpoint: str) -> Any:
    """An IAM client that does not retry, so that a 500 is seen as the SDK's first attempt got it."""
    return boto3.client(
        "iam",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )


class Call:
    """An API call made from a thread of its own; ``status`` is its HTTP status once ``done`` is set."""

    def __init__(self, call: Callable[[], Any]) -> None:
        self.status: int | None = None
        self.error: str | None = None
        self.done = threading.Event()
        self._call = call
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            response = self._call()
            self.status = int(response["ResponseMetadata"]["HTTPStatusCode"])
        except ClientError as error:
            self.status = int(error.response["ResponseMetadata"]["HTTPStatusCode"])
            self.error = str(error.response.get("Error", {}).get("Code"))
        except Exception as error:  # an HTML 500 is not even an AWS error
            self.status = 500
            self.error = repr(error)
        finally:
            self.done.set()

    def start(self) -> Call:
        self.thread.start()
        return self

    def result(self) -> tuple[int | None, str | None]:
        assert self.done.wait(SAFETY_TIMEOUT), "the call did not finish"
        return self.status, self.error


def waiting_for_the_iam_lock(besides: int) -> bool:
    """Whether a thread other than ``besides`` waits at the emulator's IAM lock."""
    return any(
        ident != besides and frame.f_code.co_filename.endswith(LOCK_MODULE)
        for ident, frame in sys._current_frames().items()
    )


class Probe:
    """Stands first among an account's roles. Once armed, the first request that reads its name or ARN starts
    ``call`` in another thread and reads on only when that call has finished or waits for the IAM lock."""

    def __init__(self) -> None:
        self.call: Call | None = None
        self._lock = threading.Lock()
        self._armed = False

    def arm(self, call: Call) -> None:
        with self._lock:
            self.call, self._armed = call, True

    def _fire(self) -> None:
        with self._lock:
            call, self._armed = (self.call if self._armed else None), False
        if call is None:
            return
        call.start()
        me = threading.get_ident()
        deadline = time.monotonic() + SAFETY_TIMEOUT
        while not call.done.is_set() and not waiting_for_the_iam_lock(me) and time.monotonic() < deadline:
            time.sleep(0.01)

    @property
    def name(self) -> str:
        self._fire()
        return "not-a-role"

    @property
    def arn(self) -> str:
        self._fire()
        return f"arn:aws:iam::{ACCOUNT}:role/not-a-role"


def moto_roles() -> dict[str, Any]:
    """moto's roles of the account, by role id (the probe among them, whose name is no role's)."""
    from moto.iam.models import iam_backends

    roles: dict[str, Any] = iam_backends[ACCOUNT]["aws"].roles
    return roles


@pytest.fixture
def probe(emulator: Emulator) -> Iterator[Probe]:
    roles = moto_roles()
    # A fresh dictionary with the probe first: lookups walk roles in the order they were created.
    previous = dict(roles)
    placed = Probe()
    key = f"AROAPROBE{unique('x')}"
    roles.clear()
    roles[key] = placed
    roles.update(previous)
    try:
        yield placed
    finally:
        roles.pop(key, None)


def test_a_role_created_while_a_function_looks_up_its_role_fails_neither(emulator: Emulator, probe: Probe) -> None:
    """Lambda's CreateFunction looks its role up among all roles; Terraform creates other roles meanwhile."""
    iam = iam_client(emulator.endpoint)
    role_arn = iam.create_role(RoleName=unique("fn-role"), AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    other = unique("created-meanwhile")
    probe.arm(Call(lambda: iam_client(emulator.endpoint).create_role(RoleName=other, AssumeRolePolicyDocument=TRUST)))
    lambda_ = boto3.client(
        "lambda",
        endpoint_url=emulator.endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )

    created = lambda_.create_function(
        FunctionName=unique("fn"),
        Runtime="python3.12",
        Role=role_arn,
        Handler="basic_function.handler",
        Code={"ZipFile": zip_sources("basic_function.py")},
    )

    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert probe.call is not None
    assert probe.call.result() == (200, None)
    assert iam.get_role(RoleName=other)["Role"]["RoleName"] == other


def test_two_create_role_calls_of_one_name_one_succeeds_and_one_conflicts(emulator: Emulator, probe: Probe) -> None:
    """As on AWS: the second finds the first's role (moto alone fails the first with a 500, or creates two)."""
    name = unique("contended")
    probe.arm(Call(lambda: iam_client(emulator.endpoint).create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)))

    first = Call(lambda: iam_client(emulator.endpoint).create_role(RoleName=name, AssumeRolePolicyDocument=TRUST))
    first.start()

    assert first.result() == (200, None)
    assert probe.call is not None
    assert probe.call.result() == (409, "EntityAlreadyExists")
    assert len([role for role in moto_roles().values() if role.name == name]) == 1


def test_the_listening_socket_queues_a_burst_of_connections(emulator: Emulator) -> None:
    """werkzeug's backlog of 128 made the kernel drop connections of a busy emulator (clients then wait 1, 3,
    7 ... s to retransmit, and SDKs give up connecting after 30 s); the emulator asks for what the kernel allows."""
    ss = shutil.which("ss")
    if ss is None:
        pytest.skip("needs ss (iproute2) to read the listening socket's backlog")
    somaxconn = int(Path("/proc/sys/net/core/somaxconn").read_text())
    if somaxconn <= 128:
        pytest.skip(f"the kernel caps every backlog at {somaxconn}")
    port = urlsplit(emulator.endpoint).port
    listing = subprocess.run(
        [ss, "-Hltn", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout.split()
    # State, Recv-Q (connections waiting to be accepted), Send-Q (the backlog), local and peer address.
    assert listing[0] == "LISTEN", listing
    assert int(listing[2]) >= min(somaxconn, 1024), listing


def test_a_retry_of_a_create_role_that_went_through_gets_its_answer_not_a_conflict(emulator: Emulator) -> None:
    """An SDK repeats a call's ``amz-sdk-invocation-id`` on every retry; a retry that reaches a loaded emulator
    after the first attempt went through gets that attempt's answer, as the caller would have had it in time.
    A new call of the same name (a new invocation id) still conflicts, as on AWS."""
    name = unique("retried")
    client = iam_client(emulator.endpoint)

    def same_invocation(request: Any, **_: Any) -> None:
        request.headers["amz-sdk-invocation-id"] = f"invocation-{name}"

    client.meta.events.register_last("before-send.iam.CreateRole", same_invocation)
    first = client.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)
    retried = client.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)

    assert retried["Role"]["RoleId"] == first["Role"]["RoleId"]
    with pytest.raises(ClientError) as conflict:
        iam_client(emulator.endpoint).create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)
    assert conflict.value.response["Error"]["Code"] == "EntityAlreadyExists"
    assert len([role for role in moto_roles().values() if role.name == name]) == 1


def test_a_retry_of_a_create_table_that_went_through_gets_its_answer_not_a_conflict(emulator: Emulator) -> None:
    """The same for the create calls of the other services: a Terraform CreateTable that a loaded emulator answered
    too late was retried and failed with ResourceInUseException for the table its first attempt had created."""
    name = unique("retried")
    options: dict[str, Any] = {"endpoint_url": emulator.endpoint, "region_name": REGION}
    client = boto3.client("dynamodb", aws_access_key_id="testing", aws_secret_access_key="testing", **options)
    table: dict[str, Any] = {
        "TableName": name,
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }

    def same_invocation(request: Any, **_: Any) -> None:
        request.headers["amz-sdk-invocation-id"] = f"invocation-{name}"

    client.meta.events.register_last("before-send.dynamodb.CreateTable", same_invocation)
    first = client.create_table(**table)
    retried = client.create_table(**table)

    assert retried["TableDescription"]["TableArn"] == first["TableDescription"]["TableArn"]
    other = boto3.client("dynamodb", aws_access_key_id="testing", aws_secret_access_key="testing", **options)
    with pytest.raises(ClientError) as conflict:
        other.create_table(**table)
    assert conflict.value.response["Error"]["Code"] == "ResourceInUseException"
