"""The emulator's IAM gate: role sessions may do exactly what their role's policies allow, per service, and the
functions, the event source mapping pollers and the state machine act with their roles.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from devtools.emulator import Emulator, FunctionSpec, LambdaExecutor
from devtools.emulator.role_credentials import RoleCredentials
from tests.support.emulator import Aws, unique, zip_sources
from tests.support.tables import REGION, create_table
from tests.support.waits import wait_until

ACCOUNT = "123456789012"
OTHER_ACCOUNT = "222233334444"
SESSION_NAME = "gate-test"


def statement(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


class Roles:
    """Roles with given policies, and clients acting as a session of one."""

    def __init__(self, aws: Aws, emulator: Emulator) -> None:
        self.aws = aws
        self.emulator = emulator
        self.sts = boto3.client(
            "sts",
            endpoint_url=aws.endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def create(self, *statements: dict[str, Any], trust: dict[str, Any] | None = None, client: Any = None) -> str:
        iam = client or self.aws.iam
        name = unique("role")
        document = trust or {"Version": "2012-10-17", "Statement": []}
        arn = str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(document))["Role"]["Arn"])
        if statements:
            self.put(arn, *statements, client=iam)
        return arn

    def put(self, role_arn: str, *statements: dict[str, Any], client: Any = None) -> None:
        document = {"Version": "2012-10-17", "Statement": list(statements)}
        (client or self.aws.iam).put_role_policy(
            RoleName=role_arn.rsplit("/", 1)[1], PolicyName="policy", PolicyDocument=json.dumps(document)
        )

    def client(self, role_arn: str, service: str) -> Any:
        """A client of a session of ``role_arn`` as the emulator gives one to a function."""
        credentials = self.emulator.gate.sessions.credentials(role_arn, SESSION_NAME, REGION)
        assert credentials is not None
        return credentials_client(
            self.aws.endpoint,
            {
                "AccessKeyId": credentials.access_key_id,
                "SecretAccessKey": credentials.secret_access_key,
                "SessionToken": credentials.session_token,
            },
            service,
        )


def credentials_client(endpoint: str, credentials: Mapping[str, Any], service: str) -> Any:
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def session_arn(role_arn: str, session: str = SESSION_NAME) -> str:
    return f"arn:aws:sts::{role_arn.split(':')[4]}:assumed-role/{role_arn.rsplit('/', 1)[1]}/{session}"


def refused(
    call: Callable[[], Any],
    *,
    role: str,
    action: str,
    resource: str,
    code: str = "AccessDeniedException",
    status: int = 400,
    session: str = SESSION_NAME,
) -> str:
    """Assert that ``call`` is refused as AWS refuses it; returns the message."""
    with pytest.raises(ClientError) as refusal:
        call()
    error = refusal.value.response["Error"]
    assert error["Code"] == code
    assert refusal.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert error["Message"] == (
        f"User: {session_arn(role, session)} is not authorized to perform: {action} on resource: {resource} "
        f"because no identity-based policy allows the {action} action"
    )
    return str(error["Message"])


@pytest.fixture(scope="module")
def roles(aws: Aws, emulator: Emulator) -> Roles:
    return Roles(aws, emulator)


def table_arn(aws: Aws, name: str) -> str:
    return str(aws.dynamodb.describe_table(TableName=name)["Table"]["TableArn"])


# --------------------------------------------------------------------------------------------------
# Per service: exactly what the policy allows


def test_operator_credentials_and_the_sessions_the_operator_assumes_stay_unrestricted(aws: Aws, roles: Roles) -> None:
    name = unique("free")
    aws.create_table(name)
    aws.dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}})

    powerless = roles.create()
    assumed = roles.sts.assume_role(RoleArn=powerless, RoleSessionName="operator")["Credentials"]
    credentials_client(aws.endpoint, assumed, "dynamodb").put_item(TableName=name, Item={"pk": {"S": "b"}})

    aws.dynamodb.delete_table(TableName=name)


def test_dynamodb_tables_by_name_or_arn_batches_and_indexes(aws: Aws, roles: Roles) -> None:
    table, other = unique("orders"), unique("users")
    create_table(aws.dynamodb, table, {"pk": "S"}, indexes={"by-g": {"g": "S"}}, projection="ALL")
    aws.create_table(other)
    arn, other_arn = table_arn(aws, table), table_arn(aws, other)
    role = roles.create(
        statement(["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:BatchWriteItem"], arn),
        statement("dynamodb:Query", f"{arn}/index/*"),
    )
    dynamodb = roles.client(role, "dynamodb")

    dynamodb.put_item(TableName=table, Item={"pk": {"S": "a"}, "g": {"S": "x"}})
    assert dynamodb.get_item(TableName=arn, Key={"pk": {"S": "a"}})["Item"]["g"] == {"S": "x"}
    dynamodb.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": {"pk": {"S": "b"}}}}]})
    found = dynamodb.query(
        TableName=table, IndexName="by-g", KeyConditionExpression="g = :g", ExpressionAttributeValues={":g": {"S": "x"}}
    )
    assert found["Count"] == 1

    refused(
        lambda: dynamodb.delete_item(TableName=table, Key={"pk": {"S": "a"}}),
        role=role,
        action="dynamodb:DeleteItem",
        resource=arn,
    )
    refused(
        lambda: dynamodb.put_item(TableName=other, Item={"pk": {"S": "a"}}),
        role=role,
        action="dynamodb:PutItem",
        resource=other_arn,
    )
    refused(
        lambda: dynamodb.query(
            TableName=table, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "a"}}
        ),
        role=role,
        action="dynamodb:Query",
        resource=arn,
    )
    refused(
        lambda: dynamodb.batch_write_item(
            RequestItems={
                table: [{"PutRequest": {"Item": {"pk": {"S": "c"}}}}],
                other: [{"PutRequest": {"Item": {"pk": {"S": "c"}}}}],
            }
        ),
        role=role,
        action="dynamodb:BatchWriteItem",
        resource=other_arn,
    )
    assert "Item" not in aws.dynamodb.get_item(TableName=table, Key={"pk": {"S": "c"}}), (
        "a refused batch writes nothing"
    )


def test_dynamodb_streams(aws: Aws, roles: Roles) -> None:
    stream = aws.create_table(unique("streamed"), stream=True)
    other = aws.create_table(unique("streamed"), stream=True)
    assert stream is not None
    assert other is not None
    role = roles.create(
        statement(["dynamodb:DescribeStream", "dynamodb:GetShardIterator", "dynamodb:GetRecords"], stream)
    )
    streams = roles.client(role, "dynamodbstreams")

    shard = streams.describe_stream(StreamArn=stream)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    assert streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"] == []

    refused(
        lambda: streams.describe_stream(StreamArn=other), role=role, action="dynamodb:DescribeStream", resource=other
    )
    refused(streams.list_streams, role=role, action="dynamodb:ListStreams", resource="*")


def test_sqs_answers_access_denied_with_the_action_in_lower_case(aws: Aws, roles: Roles) -> None:
    url, arn = aws.create_queue(unique("jobs"))
    other_url, other_arn = aws.create_queue(unique("jobs"))
    role = roles.create(statement("sqs:SendMessage", arn))
    sqs = roles.client(role, "sqs")

    sqs.send_message(QueueUrl=url, MessageBody="hello")
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "1", "MessageBody": "again"}])

    denied: dict[str, Any] = {"role": role, "code": "AccessDenied", "status": 403}
    refused(lambda: sqs.receive_message(QueueUrl=url), action="sqs:receivemessage", resource=arn, **denied)
    refused(
        lambda: sqs.send_message(QueueUrl=other_url, MessageBody="x"),
        action="sqs:sendmessage",
        resource=other_arn,
        **denied,
    )
    assert (
        aws.sqs.get_queue_attributes(QueueUrl=other_url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"][
            "ApproximateNumberOfMessages"
        ]
        == "0"
    )


def test_lambda_functions_and_qualifiers(aws: Aws, roles: Roles) -> None:
    function = aws.deploy(("basic_function.py",), "basic_function.handler")
    other = aws.deploy(("basic_function.py",), "basic_function.handler")
    role = roles.create(statement("lambda:InvokeFunction", [function, f"{function}:*"]))
    lambda_ = roles.client(role, "lambda")

    assert lambda_.invoke(FunctionName=function, Payload=b"{}")["StatusCode"] == 200
    assert (
        lambda_.invoke(FunctionName=function.rsplit(":", 1)[1], Qualifier="$LATEST", Payload=b"{}")["StatusCode"] == 200
    )

    denied: dict[str, Any] = {"role": role, "status": 403}
    refused(
        lambda: lambda_.get_function(FunctionName=function), action="lambda:GetFunction", resource=function, **denied
    )
    refused(
        lambda: lambda_.invoke(FunctionName=other, Payload=b"{}"),
        action="lambda:InvokeFunction",
        resource=other,
        **denied,
    )


def test_step_functions_state_machines_and_executions(aws: Aws, roles: Roles) -> None:
    definition = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})
    machine = aws.sfn.create_state_machine(name=unique("sm"), definition=definition, roleArn=aws.role_arn)[
        "stateMachineArn"
    ]
    other = aws.sfn.create_state_machine(name=unique("sm"), definition=definition, roleArn=aws.role_arn)[
        "stateMachineArn"
    ]
    executions = machine.replace(":stateMachine:", ":execution:") + ":*"
    role = roles.create(statement("states:StartExecution", machine), statement("states:DescribeExecution", executions))
    sfn = roles.client(role, "stepfunctions")

    execution = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    assert sfn.describe_execution(executionArn=execution)["stateMachineArn"] == machine

    refused(
        lambda: sfn.describe_state_machine(stateMachineArn=machine),
        role=role,
        action="states:DescribeStateMachine",
        resource=machine,
    )
    refused(
        lambda: sfn.start_execution(stateMachineArn=other), role=role, action="states:StartExecution", resource=other
    )


def test_application_auto_scaling_with_the_pre_warm_conditions(aws: Aws, roles: Roles) -> None:
    """The worker's capacity statements: Describe on "*", Register limited by service namespace and dimension."""
    table = unique("capacity")
    aws.create_table(table)
    role = roles.create(
        statement("application-autoscaling:DescribeScalableTargets"),
        statement(
            "application-autoscaling:RegisterScalableTarget",
            f"arn:aws:application-autoscaling:{REGION}:{ACCOUNT}:scalable-target/*",
            Condition={
                "StringEquals": {
                    "application-autoscaling:service-namespace": "dynamodb",
                    "application-autoscaling:scalable-dimension": [
                        "dynamodb:table:ReadCapacityUnits",
                        "dynamodb:table:WriteCapacityUnits",
                    ],
                }
            },
        ),
    )
    scaling = roles.client(role, "application-autoscaling")

    def register(dimension: str) -> Any:
        return scaling.register_scalable_target(
            ServiceNamespace="dynamodb",
            ResourceId=f"table/{table}",
            ScalableDimension=dimension,
            MinCapacity=1,
            MaxCapacity=10,
        )

    register("dynamodb:table:ReadCapacityUnits")
    register("dynamodb:table:ReadCapacityUnits")  # again: now on the existing target's own ARN
    assert scaling.describe_scalable_targets(ServiceNamespace="dynamodb")["ScalableTargets"]

    refused(
        lambda: register("dynamodb:index:ReadCapacityUnits"),
        role=role,
        action="application-autoscaling:RegisterScalableTarget",
        resource=f"arn:aws:application-autoscaling:{REGION}:{ACCOUNT}:scalable-target/*",
    )
    refused(
        lambda: scaling.describe_scaling_policies(ServiceNamespace="dynamodb"),
        role=role,
        action="application-autoscaling:DescribeScalingPolicies",
        resource="*",
    )


def test_cloudwatch_metrics_and_alarms(aws: Aws, roles: Roles) -> None:
    alarm = unique("alarm")
    alarm_arn = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{alarm}"
    role = roles.create(statement("cloudwatch:PutMetricData"), statement("cloudwatch:DescribeAlarms", alarm_arn))
    cloudwatch = roles.client(role, "cloudwatch")

    cloudwatch.put_metric_data(Namespace="ddb-migrate-test", MetricData=[{"MetricName": "m", "Value": 1.0}])
    assert cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"] == []

    with pytest.raises(ClientError) as refusal:
        cloudwatch.describe_alarms(AlarmNames=["someone-elses"])
    assert "is not authorized to perform: cloudwatch:DescribeAlarms" in refusal.value.response["Error"]["Message"]
    with pytest.raises(ClientError):
        cloudwatch.get_metric_data(MetricDataQueries=[], StartTime=time.time() - 60, EndTime=time.time())


def test_assume_role_needs_the_trust_policy_and_its_external_id(aws: Aws, roles: Roles) -> None:
    caller = roles.create()
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": caller},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": "migration"}},
            }
        ],
    }
    target = roles.create(statement("dynamodb:DescribeTable"), trust=trust)
    untrusting = roles.create(statement("*"))
    roles.put(caller, statement("sts:AssumeRole", [target, untrusting]))
    sts = roles.client(caller, "sts")

    def assume(role: str, external_id: str) -> dict[str, Any]:
        return dict(sts.assume_role(RoleArn=role, RoleSessionName="chained", ExternalId=external_id)["Credentials"])

    chained = credentials_client(aws.endpoint, assume(target, "migration"), "dynamodb")
    table = unique("target")
    aws.create_table(table)
    assert chained.describe_table(TableName=table)["Table"]["TableName"] == table
    refused(
        lambda: chained.scan(TableName=table),
        role=target,
        session="chained",
        action="dynamodb:Scan",
        resource=table_arn(aws, table),
    )

    for role, external_id in (
        (target, "wrong"),
        (untrusting, "migration"),
        (f"arn:aws:iam::{ACCOUNT}:role/missing", "migration"),
    ):
        with pytest.raises(ClientError) as refusal:
            assume(role, external_id)
        assert refusal.value.response["Error"]["Code"] == "AccessDenied"
        assert refusal.value.response["Error"]["Message"] == (
            f"User: {session_arn(caller)} is not authorized to perform: sts:AssumeRole on resource: {role}"
        )


def test_another_accounts_table_needs_its_resource_policy_to_name_the_role(aws: Aws, roles: Roles) -> None:
    admin = roles.sts.assume_role(RoleArn=f"arn:aws:iam::{OTHER_ACCOUNT}:role/admin", RoleSessionName="admin")
    there = credentials_client(aws.endpoint, admin["Credentials"], "dynamodb")
    name = unique("shared")
    create_table(there, name, {"pk": "S"})
    arn = f"arn:aws:dynamodb:{REGION}:{OTHER_ACCOUNT}:table/{name}"
    writer, stranger = (
        roles.create(statement("dynamodb:PutItem", arn)),
        roles.create(statement("dynamodb:PutItem", arn)),
    )
    resource_policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": writer}, "Action": "dynamodb:PutItem", "Resource": arn}],
    }
    there.put_resource_policy(ResourceArn=arn, Policy=json.dumps(resource_policy))

    roles.client(writer, "dynamodb").put_item(TableName=arn, Item={"pk": {"S": "a"}})
    with pytest.raises(ClientError) as refusal:
        roles.client(stranger, "dynamodb").put_item(TableName=arn, Item={"pk": {"S": "b"}})

    assert refusal.value.response["Error"]["Message"] == (
        f"User: {session_arn(stranger)} is not authorized to perform: dynamodb:PutItem on resource: {arn} "
        "because no resource-based policy allows the dynamodb:PutItem action"
    )
    assert [item["pk"]["S"] for item in there.scan(TableName=name)["Items"]] == ["a"]


def test_an_explicit_deny_wins(aws: Aws, roles: Roles) -> None:
    table = unique("denied")
    aws.create_table(table)
    arn = table_arn(aws, table)
    role = roles.create(statement("dynamodb:*", "*"), {"Effect": "Deny", "Action": "dynamodb:PutItem", "Resource": arn})
    dynamodb = roles.client(role, "dynamodb")

    with pytest.raises(ClientError) as refusal:
        dynamodb.put_item(TableName=table, Item={"pk": {"S": "a"}})

    assert refusal.value.response["Error"]["Message"].endswith("with an explicit deny in an identity-based policy")
    assert dynamodb.get_item(TableName=table, Key={"pk": {"S": "a"}}).get("Item") is None


def test_switching_the_gate_off_lets_role_sessions_do_anything(emulator: Emulator, aws: Aws, roles: Roles) -> None:
    table = unique("open")
    aws.create_table(table)
    dynamodb = roles.client(roles.create(), "dynamodb")
    assert Emulator(iam_gate=False).gate.enabled is False

    emulator.gate.enabled = False
    try:
        dynamodb.put_item(TableName=table, Item={"pk": {"S": "a"}})
    finally:
        emulator.gate.enabled = True
    with pytest.raises(ClientError):
        dynamodb.put_item(TableName=table, Item={"pk": {"S": "b"}})


# --------------------------------------------------------------------------------------------------
# Functions, pollers, the state machine and log delivery act with their roles


@pytest.fixture
def restricted_function(aws: Aws, roles: Roles) -> Iterator[Callable[..., tuple[str, str]]]:
    """Deploy a fixture function with a role of its own: (function ARN, role ARN)."""
    created: list[str] = []

    def deploy(
        sources: tuple[str, ...], handler: str, *statements: dict[str, Any], **environment: str
    ) -> tuple[str, str]:
        role = roles.create(*statements)
        function = aws.lambda_.create_function(
            FunctionName=unique("fn"),
            Runtime="python3.12",
            Role=role,
            Handler=handler,
            Code={"ZipFile": zip_sources(*sources)},
            Timeout=10,
            Environment={"Variables": environment},
        )["FunctionArn"]
        created.append(function)
        return function, role

    yield deploy
    for function in created:
        aws.lambda_.delete_function(FunctionName=function)


def test_a_function_calls_aws_as_its_execution_roles_session(aws: Aws, restricted_function: Any) -> None:
    allowed, refused_table = unique("mine"), unique("theirs")
    aws.create_table(allowed)
    aws.create_table(refused_table)
    function, role = restricted_function(
        ("basic_function.py",),
        "basic_function.handler",
        statement(["dynamodb:PutItem", "dynamodb:GetItem"], table_arn(aws, allowed)),
    )
    name = function.rsplit(":", 1)[1]

    assert aws.invoke(function, {"action": "dynamodb", "table": allowed, "key": "a"})[0] is None
    error, payload = aws.invoke(function, {"action": "dynamodb", "table": refused_table, "key": "a"})

    assert error == "Unhandled"
    assert (
        f"User: {session_arn(role, name)} is not authorized to perform: dynamodb:PutItem on resource: "
        f"{table_arn(aws, refused_table)}"
    ) in payload["errorMessage"]


def test_the_sqs_poller_needs_the_functions_permission_to_receive(
    emulator: Emulator, aws: Aws, roles: Roles, restricted_function: Any
) -> None:
    results = unique("results")
    aws.create_table(results, range_key=True)
    url, arn = aws.create_queue(unique("inbox"))
    write_results = statement("dynamodb:PutItem", table_arn(aws, results))
    function, role = restricted_function(
        ("sqs_recorder.py",), "sqs_recorder.handler", write_results, RESULT_TABLE=results
    )
    mapping = aws.lambda_.create_event_source_mapping(EventSourceArn=arn, FunctionName=function, BatchSize=1)["UUID"]
    try:
        aws.sqs.send_message(QueueUrl=url, MessageBody="first")

        problem = wait_until(lambda: emulator.mapping_problems().get(mapping), what="the mapping's problem")
        assert "AccessDenied" in problem
        assert (
            f"{session_arn(role, function.rsplit(':', 1)[1])} is not authorized to perform: sqs:getqueueattributes"
            in problem
        )
        assert aws.query_all(results, "standard") == []

        roles.put(
            role,
            write_results,
            statement(["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"], arn),
        )
        wait_until(lambda: aws.query_all(results, "standard"), what="the message processed once permitted")
        assert mapping not in emulator.mapping_problems()
    finally:
        aws.lambda_.delete_event_source_mapping(UUID=mapping)


def test_the_stream_poller_needs_the_functions_permission_to_read_the_stream(
    emulator: Emulator, aws: Aws, roles: Roles, restricted_function: Any
) -> None:
    results, source = unique("results"), unique("source")
    aws.create_table(results, range_key=True)
    stream = aws.create_table(source, stream=True)
    assert stream is not None
    write_results = statement("dynamodb:PutItem", table_arn(aws, results))
    read_stream = statement(["dynamodb:DescribeStream", "dynamodb:GetShardIterator"], stream)
    function, role = restricted_function(
        ("stream_recorder.py",), "stream_recorder.handler", write_results, read_stream, RESULT_TABLE=results, TAG="s"
    )
    mapping = aws.lambda_.create_event_source_mapping(
        EventSourceArn=stream, FunctionName=function, StartingPosition="TRIM_HORIZON", BatchSize=10
    )["UUID"]
    try:
        aws.dynamodb.put_item(TableName=source, Item={"pk": {"S": "a"}})

        problem = wait_until(lambda: emulator.mapping_problems().get(mapping), what="the mapping's problem")
        assert f"is not authorized to perform: dynamodb:GetRecords on resource: {stream}" in problem
        assert aws.query_all(results, "s") == []

        roles.put(
            role,
            write_results,
            read_stream,
            statement("dynamodb:GetRecords", stream),
            statement("dynamodb:ListStreams"),
        )
        wait_until(lambda: aws.query_all(results, "s"), what="the record processed once permitted")
        assert mapping not in emulator.mapping_problems()
    finally:
        aws.lambda_.delete_event_source_mapping(UUID=mapping)


def test_the_on_failure_destination_is_sent_to_with_the_functions_role(
    emulator: Emulator, aws: Aws, roles: Roles, restricted_function: Any
) -> None:
    results, source = unique("results"), unique("source")
    aws.create_table(results, range_key=True)
    stream = aws.create_table(source, stream=True)
    assert stream is not None
    destination_url, destination = aws.create_queue(unique("failures"))
    read_stream = statement(
        ["dynamodb:DescribeStream", "dynamodb:GetShardIterator", "dynamodb:GetRecords", "dynamodb:ListStreams"], "*"
    )
    function, role = restricted_function(
        ("stream_recorder.py",), "stream_recorder.handler", read_stream, RESULT_TABLE=results, TAG="f"
    )
    mapping = aws.lambda_.create_event_source_mapping(
        EventSourceArn=stream,
        FunctionName=function,
        StartingPosition="TRIM_HORIZON",
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": destination}},
    )["UUID"]
    try:
        aws.dynamodb.put_item(TableName=source, Item={"pk": {"S": "a"}, "poison": {"BOOL": True}})

        problem = wait_until(lambda: emulator.mapping_problems().get(mapping), what="the refused send")
        assert f"is not authorized to perform: sqs:sendmessage on resource: {destination}" in problem

        roles.put(role, read_stream, statement("sqs:SendMessage", destination))
        aws.dynamodb.put_item(TableName=source, Item={"pk": {"S": "b"}, "poison": {"BOOL": True}})
        [record] = aws.drain_queue(destination_url, 1)
        assert json.loads(record["Body"])["requestContext"]["condition"] == "RetryAttemptsExhausted"
    finally:
        aws.lambda_.delete_event_source_mapping(UUID=mapping)


def test_the_state_machine_invokes_lambda_with_its_role(aws: Aws, roles: Roles) -> None:
    function = aws.deploy(("basic_function.py",), "basic_function.handler")
    role = roles.create(statement("lambda:GetFunction", function))
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": function, "Payload": {}},
                "End": True,
            }
        },
    }
    machine = aws.sfn.create_state_machine(name=unique("sm"), definition=json.dumps(definition), roleArn=role)[
        "stateMachineArn"
    ]

    def run() -> dict[str, Any]:
        execution = aws.sfn.start_execution(stateMachineArn=machine)["executionArn"]

        def finished() -> dict[str, Any] | None:
            described = dict(aws.sfn.describe_execution(executionArn=execution))
            return None if described["status"] == "RUNNING" else described

        return wait_until(finished, timeout=60, what="the execution to finish")

    failed = run()
    assert failed["status"] == "FAILED"
    assert failed["error"] == "Lambda.AccessDeniedException"
    assert (
        f"{session_arn(role, 'StepFunctions')} is not authorized to perform: lambda:InvokeFunction on resource: {function}"
    ) in failed["cause"]

    roles.put(role, statement("lambda:InvokeFunction", [function, f"{function}:*"]))
    assert run()["status"] == "SUCCEEDED"


def test_logs_reach_cloudwatch_only_when_the_role_may_write_them(
    aws: Aws, roles: Roles, restricted_function: Any
) -> None:
    function, role = restricted_function(("basic_function.py",), "basic_function.handler")
    name = function.rsplit(":", 1)[1]
    group = f"/aws/lambda/{name}"

    def logged(marker: str) -> bool:
        try:
            events = aws.logs.filter_log_events(logGroupName=group, filterPattern=marker)["events"]
        except ClientError:
            return False
        return bool(events)

    aws.invoke(function, {"action": "firstmarker"})
    roles.put(
        role,
        statement(
            ["logs:CreateLogStream", "logs:PutLogEvents"], f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:*"
        ),
    )
    aws.invoke(function, {"action": "secondmarker"})

    # One warm worker writes both invocations' lines in order: once the second is there, the first was dropped.
    wait_until(lambda: logged("secondmarker"), what="the permitted log line")
    assert not logged("firstmarker")


@pytest.mark.parametrize(
    ("lifetime", "keys"),
    [(3600.0, ["ASIATEST0", "ASIATEST0"]), (60.0, ["ASIATEST0", "ASIATEST1"])],
)
def test_a_worker_keeps_its_session_until_it_nears_expiry(tmp_path: Path, lifetime: float, keys: list[str]) -> None:
    """Env credentials cannot be refreshed inside a process, so a worker whose session is about to end is replaced."""
    code = zip_sources("basic_function.py")
    spec = FunctionSpec(
        account_id=ACCOUNT,
        region=REGION,
        function_name="sessions",
        function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:sessions",
        version="$LATEST",
        handler="basic_function.handler",
        runtime="python3.12",
        timeout_seconds=10,
        memory_size=128,
        environment=(),
        code_sha256=hashlib.sha256(code).hexdigest(),
        code=code,
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/sessions",
    )
    issued: list[RoleCredentials] = []

    def credentials(_: FunctionSpec) -> RoleCredentials:
        issued.append(RoleCredentials(f"ASIATEST{len(issued)}", "secret", "token", time.time() + lifetime))
        return issued[-1]

    executor = LambdaExecutor("http://127.0.0.1:9", tmp_path, 1, credentials=credentials)
    try:
        seen = [executor.invoke(spec, b"{}").json() for _ in range(2)]
    finally:
        executor.shutdown()

    assert [result["environment"]["AWS_ACCESS_KEY_ID"] for result in seen] == keys
    assert len({result["pid"] for result in seen}) == len(set(keys)), "one worker per session"
