"""The IAM gate's policy evaluator and request resolver, without AWS: ``devtools.emulator.iam_policy`` and
``devtools.emulator.iam_requests``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devtools.emulator.iam_policy import (
    Caller,
    ContextValue,
    Decision,
    PolicyDocument,
    PrincipalMatch,
    arn_matches,
    evaluate,
)
from devtools.emulator.iam_requests import Authorization, Request, authorizations

ACCOUNT = "123456789012"
TABLE = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders"
OTHER_TABLE = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/users"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/worker"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/worker/worker"


def policy(*statements: dict[str, Any], version: str = "2012-10-17") -> PolicyDocument:
    return PolicyDocument.parse(json.dumps({"Version": version, "Statement": list(statements)}))


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def decide(
    document: PolicyDocument, action: str, resource: str, context: dict[str, ContextValue] | None = None
) -> Decision:
    return evaluate([document], action, resource, context or {}).decision


# --------------------------------------------------------------------------------------------------
# Actions, resources, Allow and Deny


def test_an_allow_allows_exactly_its_actions_on_exactly_its_resources() -> None:
    document = policy(allow(["dynamodb:GetItem", "dynamodb:PutItem"], TABLE))

    assert decide(document, "dynamodb:GetItem", TABLE) is Decision.ALLOW
    assert decide(document, "dynamodb:DeleteItem", TABLE) is Decision.IMPLICIT_DENY
    assert decide(document, "dynamodb:GetItem", OTHER_TABLE) is Decision.IMPLICIT_DENY


def test_actions_match_case_insensitively_and_with_wildcards() -> None:
    document = policy(allow("DynamoDB:Batch*Item", TABLE), allow("sqs:?eceiveMessage"))

    assert decide(document, "dynamodb:BatchWriteItem", TABLE) is Decision.ALLOW
    assert decide(document, "dynamodb:batchgetitem", TABLE) is Decision.ALLOW
    assert decide(document, "dynamodb:BatchExecuteStatement", TABLE) is Decision.IMPLICIT_DENY
    assert decide(document, "sqs:ReceiveMessage", "arn:aws:sqs:us-east-1:1:q") is Decision.ALLOW


def test_an_explicit_deny_wins_over_any_allow() -> None:
    document = policy(allow("dynamodb:*", "*"), {"Effect": "Deny", "Action": "dynamodb:DeleteTable", "Resource": TABLE})

    assert decide(document, "dynamodb:DeleteTable", TABLE) is Decision.EXPLICIT_DENY
    assert decide(document, "dynamodb:DeleteTable", OTHER_TABLE) is Decision.ALLOW


def test_not_action_and_not_resource_allow_everything_else() -> None:
    document = policy({"Effect": "Allow", "NotAction": "dynamodb:Delete*", "NotResource": OTHER_TABLE})

    assert decide(document, "dynamodb:PutItem", TABLE) is Decision.ALLOW
    assert decide(document, "dynamodb:DeleteItem", TABLE) is Decision.IMPLICIT_DENY
    assert decide(document, "dynamodb:PutItem", OTHER_TABLE) is Decision.IMPLICIT_DENY


@pytest.mark.parametrize(
    ("pattern", "resource", "matches"),
    [
        ("*", TABLE, True),
        (f"arn:aws:dynamodb:*:{ACCOUNT}:table/orders", TABLE, True),
        ("arn:aws:dynamodb:us-east-1:*:table/*", TABLE, True),
        (f"{TABLE}/index/*", f"{TABLE}/index/by-date", True),
        (TABLE, f"{TABLE}/index/by-date", False),
        ("arn:aws:dynamodb:us-east-1:*:table/ORDERS", TABLE, False),
        # Wildcards in the first five fields stay within their field ...
        ("arn:aws:logs:*:log-group:x", f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:x", False),
        # ... while the resource part spans ":" (log streams under a log group).
        (
            f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/worker:*",
            f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/worker:log-stream:2026/01/01/[$LATEST]abc",
            True,
        ),
        ("arn:aws:sqs:us-east-1:1234567890?2:q", f"arn:aws:sqs:us-east-1:{ACCOUNT}:q", True),
    ],
)
def test_arn_wildcards(pattern: str, resource: str, matches: bool) -> None:
    assert arn_matches(pattern, resource) is matches


def test_an_action_without_resource_level_permissions_needs_a_star_resource() -> None:
    assert decide(policy(allow("dynamodb:ListStreams", TABLE)), "dynamodb:ListStreams", "*") is Decision.IMPLICIT_DENY
    assert decide(policy(allow("dynamodb:ListStreams", "*")), "dynamodb:ListStreams", "*") is Decision.ALLOW


def test_policy_variables_resolve_from_the_request_context_in_2012_documents_only() -> None:
    resource = "arn:aws:dynamodb:us-east-1:${aws:PrincipalAccount}:table/orders"
    context: dict[str, ContextValue] = {"aws:PrincipalAccount": ACCOUNT}

    assert decide(policy(allow("dynamodb:GetItem", resource)), "dynamodb:GetItem", TABLE, context) is Decision.ALLOW
    assert decide(policy(allow("dynamodb:GetItem", resource)), "dynamodb:GetItem", TABLE) is Decision.IMPLICIT_DENY
    old = policy(allow("dynamodb:GetItem", resource), version="2008-10-17")
    assert decide(old, "dynamodb:GetItem", TABLE, context) is Decision.IMPLICIT_DENY


def test_an_unreadable_document_allows_nothing() -> None:
    assert evaluate([PolicyDocument.parse("not json")], "dynamodb:GetItem", TABLE, {}).decision is (
        Decision.IMPLICIT_DENY
    )


# --------------------------------------------------------------------------------------------------
# Conditions


def conditional(condition: dict[str, Any]) -> PolicyDocument:
    return policy(allow("service:Action", "*", Condition=condition))


@pytest.mark.parametrize(
    ("condition", "context", "allowed"),
    [
        # The pre-warm policy: one namespace, any of four dimensions.
        (
            {
                "StringEquals": {
                    "application-autoscaling:service-namespace": "dynamodb",
                    "application-autoscaling:scalable-dimension": [
                        "dynamodb:table:ReadCapacityUnits",
                        "dynamodb:table:WriteCapacityUnits",
                    ],
                }
            },
            {
                "application-autoscaling:service-namespace": "dynamodb",
                "application-autoscaling:scalable-dimension": "dynamodb:table:WriteCapacityUnits",
            },
            True,
        ),
        (
            {"StringEquals": {"application-autoscaling:service-namespace": "dynamodb"}},
            {"application-autoscaling:service-namespace": "ecs"},
            False,
        ),
        # Keys are case-insensitive; a positive operator is false on a missing key ...
        ({"StringEquals": {"KMS:ViaService": "dynamodb.us-east-1.amazonaws.com"}}, {}, False),
        (
            {"StringEquals": {"kms:ViaService": "dynamodb.us-east-1.amazonaws.com"}},
            {"kms:viaservice": "dynamodb.us-east-1.amazonaws.com"},
            True,
        ),
        # ... a negated one and IfExists are true.
        ({"StringNotEquals": {"sts:ExternalId": "x"}}, {}, True),
        ({"StringEqualsIfExists": {"sts:ExternalId": "x"}}, {}, True),
        ({"StringEqualsIfExists": {"sts:ExternalId": "x"}}, {"sts:ExternalId": "y"}, False),
        ({"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/work*"}}, {"aws:PrincipalArn": ROLE}, True),
        ({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}}, {"aws:PrincipalArn": ROLE}, True),
        ({"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}}, {"aws:PrincipalArn": ROLE}, False),
        ({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": "true"}, False),
        ({"Bool": {"aws:SecureTransport": True}}, {"aws:SecureTransport": "true"}, True),
        ({"Null": {"sts:ExternalId": "true"}}, {}, True),
        ({"Null": {"sts:ExternalId": "false"}}, {}, False),
        ({"NumericLessThanEquals": {"k": "10"}}, {"k": "9.5"}, True),
        ({"NumericGreaterThan": {"k": "10"}}, {"k": "x"}, False),
        (
            {"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}},
            {"aws:CurrentTime": "2026-05-01T00:00:00Z"},
            True,
        ),
        ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:SourceIp": "10.1.2.3"}, True),
        ({"ForAnyValue:StringEquals": {"k": ["a", "b"]}}, {"k": ["c", "b"]}, True),
        ({"ForAnyValue:StringEquals": {"k": ["a"]}}, {}, False),
        ({"ForAllValues:StringEquals": {"k": ["a", "b"]}}, {"k": ["a", "c"]}, False),
        ({"ForAllValues:StringEquals": {"k": ["a", "b"]}}, {}, True),
        # IAM refuses unknown operators; here such a statement simply never applies.
        ({"StringSomething": {"k": "a"}}, {"k": "a"}, False),
    ],
)
def test_conditions(condition: dict[str, Any], context: dict[str, ContextValue], allowed: bool) -> None:
    decision = decide(conditional(condition), "service:Action", "*", context)
    assert (decision is Decision.ALLOW) is allowed


def test_every_condition_must_hold() -> None:
    document = conditional({"StringEquals": {"a": "1", "b": "2"}, "Bool": {"c": "true"}})

    assert decide(document, "service:Action", "*", {"a": "1", "b": "2", "c": "true"}) is Decision.ALLOW
    assert decide(document, "service:Action", "*", {"a": "1", "b": "2", "c": "false"}) is Decision.IMPLICIT_DENY


def test_a_deny_whose_condition_fails_does_not_deny() -> None:
    document = policy(
        allow("dynamodb:*"),
        {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    )
    assert decide(document, "dynamodb:GetItem", TABLE, {"aws:SecureTransport": "true"}) is Decision.ALLOW
    assert decide(document, "dynamodb:GetItem", TABLE, {"aws:SecureTransport": "false"}) is Decision.EXPLICIT_DENY


# --------------------------------------------------------------------------------------------------
# Resource-based and trust policies


def test_resource_based_statements_apply_only_to_the_principals_they_name() -> None:
    caller = Caller(ACCOUNT, frozenset({ROLE, SESSION}))

    def grant(principal: Any) -> tuple[Decision, PrincipalMatch]:
        document = policy({"Effect": "Allow", "Principal": principal, "Action": "dynamodb:*", "Resource": TABLE})
        result = evaluate([document], "dynamodb:PutItem", TABLE, {}, caller)
        return result.decision, result.principal

    assert grant({"AWS": ROLE}) == (Decision.ALLOW, PrincipalMatch.EXPLICIT)
    assert grant({"AWS": [SESSION]}) == (Decision.ALLOW, PrincipalMatch.EXPLICIT)
    assert grant("*") == (Decision.ALLOW, PrincipalMatch.EXPLICIT)
    assert grant({"AWS": ACCOUNT}) == (Decision.ALLOW, PrincipalMatch.ACCOUNT)
    assert grant({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}) == (Decision.ALLOW, PrincipalMatch.ACCOUNT)
    assert grant({"AWS": "arn:aws:iam::999999999999:role/worker"})[0] is Decision.IMPLICIT_DENY
    assert grant({"Service": "lambda.amazonaws.com"})[0] is Decision.IMPLICIT_DENY


def test_a_trust_policy_checks_the_external_id() -> None:
    caller = Caller(ACCOUNT, frozenset({ROLE, SESSION}))
    trust = policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": [ROLE]},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": "migration"}},
        }
    )
    target = "arn:aws:iam::222233334444:role/target"

    def decision(context: dict[str, ContextValue]) -> Decision:
        return evaluate([trust], "sts:AssumeRole", target, context, caller).decision

    assert decision({"sts:ExternalId": "migration"}) is Decision.ALLOW
    assert decision({"sts:ExternalId": "other"}) is Decision.IMPLICIT_DENY
    assert decision({}) is Decision.IMPLICIT_DENY


# --------------------------------------------------------------------------------------------------
# What a request needs


def request(service: str, operation: str, params: dict[str, Any] | None = None, **extra: Any) -> Request:
    return Request(service, operation, params or {}, "us-east-1", ACCOUNT, **extra)


def needs(request_: Request) -> list[tuple[str, str]]:
    return [(needed.action, needed.resource) for needed in authorizations(request_)]


def test_dynamodb_tables_by_name_or_arn_and_indexes() -> None:
    assert needs(request("dynamodb", "GetItem", {"TableName": "orders"})) == [("dynamodb:GetItem", TABLE)]
    other_account = "arn:aws:dynamodb:us-east-1:222233334444:table/orders"
    assert needs(request("dynamodb", "PutItem", {"TableName": other_account})) == [("dynamodb:PutItem", other_account)]
    assert needs(request("dynamodb", "Query", {"TableName": "orders", "IndexName": "by-date"})) == [
        ("dynamodb:Query", f"{TABLE}/index/by-date")
    ]
    assert needs(request("dynamodb", "ListTables")) == [("dynamodb:ListTables", "*")]


def test_dynamodb_batches_need_every_table_and_transactions_the_underlying_actions() -> None:
    batch = request("dynamodb", "BatchWriteItem", {"RequestItems": {"orders": [], OTHER_TABLE: []}})
    assert needs(batch) == [("dynamodb:BatchWriteItem", TABLE), ("dynamodb:BatchWriteItem", OTHER_TABLE)]

    transaction = request(
        "dynamodb",
        "TransactWriteItems",
        {
            "TransactItems": [
                {"Put": {"TableName": "orders", "Item": {}}},
                {"Update": {"TableName": "users", "Key": {}}},
                {"ConditionCheck": {"TableName": "orders", "Key": {}}},
                {"Put": {"TableName": "orders", "Item": {}}},
            ]
        },
    )
    assert needs(transaction) == [
        ("dynamodb:PutItem", TABLE),
        ("dynamodb:UpdateItem", OTHER_TABLE),
        ("dynamodb:ConditionCheckItem", TABLE),
    ]
    assert needs(request("dynamodb", "ExecuteStatement", {"Statement": 'SELECT * FROM "orders" WHERE pk = ?'})) == [
        ("dynamodb:PartiQLSelect", TABLE)
    ]


def test_dynamodb_streams_by_stream_arn_and_by_shard_iterator() -> None:
    stream = f"{TABLE}/stream/2026-01-01T00:00:00.000"
    assert needs(request("dynamodbstreams", "GetShardIterator", {"StreamArn": stream})) == [
        ("dynamodb:GetShardIterator", stream)
    ]
    assert needs(request("dynamodbstreams", "GetRecords", {"ShardIterator": f"{stream}|1|abc"})) == [
        ("dynamodb:GetRecords", stream)
    ]
    assert needs(request("dynamodbstreams", "ListStreams")) == [("dynamodb:ListStreams", "*")]


@pytest.mark.parametrize(
    ("params", "arn"),
    [
        ({"QueueUrl": f"http://127.0.0.1:5000/{ACCOUNT}/jobs.fifo"}, f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs.fifo"),
        ({"QueueUrl": "https://sqs.eu-west-1.amazonaws.com/222233334444/q"}, "arn:aws:sqs:eu-west-1:222233334444:q"),
        ({"QueueName": "q"}, f"arn:aws:sqs:us-east-1:{ACCOUNT}:q"),
        ({"QueueName": "q", "QueueOwnerAWSAccountId": "222233334444"}, "arn:aws:sqs:us-east-1:222233334444:q"),
    ],
)
def test_sqs_queues_by_url_or_name(params: dict[str, str], arn: str) -> None:
    assert needs(request("sqs", "SendMessageBatch", params)) == [("sqs:SendMessage", arn)]


@pytest.mark.parametrize(
    ("name", "qualifier", "arn"),
    [
        ("worker", None, f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:worker"),
        ("worker:live", None, f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:worker:live"),
        (f"{ACCOUNT}:function:worker", "3", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:worker:3"),
        (
            "arn%3Aaws%3Alambda%3Aus-east-1%3A222233334444%3Afunction%3Aworker",
            None,
            "arn:aws:lambda:us-east-1:222233334444:function:worker",
        ),
    ],
)
def test_lambda_functions_by_name_partial_arn_or_arn(name: str, qualifier: str | None, arn: str) -> None:
    params = {"Qualifier": qualifier} if qualifier else {}
    invoke = request("awslambda", "Invoke", params, path_params={"FunctionName": name})
    assert needs(invoke) == [("lambda:InvokeFunction", arn)]


def test_lambda_event_source_mappings_by_arn() -> None:
    update = request("awslambda", "UpdateEventSourceMapping", path_params={"UUID": "abc"})
    assert needs(update) == [
        ("lambda:UpdateEventSourceMapping", f"arn:aws:lambda:us-east-1:{ACCOUNT}:event-source-mapping:abc")
    ]


def test_step_functions_state_machines_and_executions() -> None:
    machine = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:backfill"
    execution = f"arn:aws:states:us-east-1:{ACCOUNT}:execution:backfill:run-1"
    assert needs(request("stepfunctions", "StartExecution", {"stateMachineArn": machine})) == [
        ("states:StartExecution", machine)
    ]
    assert needs(request("stepfunctions", "DescribeExecution", {"executionArn": execution})) == [
        ("states:DescribeExecution", execution)
    ]
    assert needs(request("stepfunctions", "ListStateMachines")) == [("states:ListStateMachines", "*")]


def test_application_auto_scaling_targets_carry_their_condition_keys() -> None:
    params = {
        "ServiceNamespace": "dynamodb",
        "ResourceId": "table/orders",
        "ScalableDimension": "dynamodb:table:ReadCapacityUnits",
    }
    existing = f"arn:aws:application-autoscaling:us-east-1:{ACCOUNT}:scalable-target/0123abcd"
    found = authorizations(request("application-autoscaling", "RegisterScalableTarget", params), lambda *_: existing)
    assert found == [
        Authorization(
            "application-autoscaling:RegisterScalableTarget",
            existing,
            {
                "application-autoscaling:service-namespace": "dynamodb",
                "application-autoscaling:scalable-dimension": "dynamodb:table:ReadCapacityUnits",
            },
        )
    ]
    new = authorizations(request("application-autoscaling", "RegisterScalableTarget", params), lambda *_: None)
    assert new[0].resource == f"arn:aws:application-autoscaling:us-east-1:{ACCOUNT}:scalable-target/*"
    assert needs(request("application-autoscaling", "DescribeScalableTargets", {"ServiceNamespace": "dynamodb"})) == [
        ("application-autoscaling:DescribeScalableTargets", "*")
    ]


def test_cloudwatch_metrics_on_star_and_alarms_by_arn() -> None:
    assert needs(request("cloudwatch", "PutMetricData", {"Namespace": "x"})) == [("cloudwatch:PutMetricData", "*")]
    assert needs(request("cloudwatch", "DescribeAlarms", {"AlarmNames": ["a", "b"]})) == [
        ("cloudwatch:DescribeAlarms", f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:a"),
        ("cloudwatch:DescribeAlarms", f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:b"),
    ]


def test_logs_sts_and_unknown_services() -> None:
    assert needs(request("logs", "PutLogEvents", {"logGroupName": "/aws/lambda/w", "logStreamName": "s"})) == [
        ("logs:PutLogEvents", f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/w:log-stream:s")
    ]
    assume = authorizations(request("sts", "AssumeRole", {"RoleArn": ROLE, "ExternalId": "x"}))
    assert assume == [Authorization("sts:AssumeRole", ROLE, {"sts:ExternalId": "x"})]
    assert needs(request("sts", "GetCallerIdentity")) == []
    assert needs(request("ssm", "GetParameter", {"Name": "x"})) == [("ssm:GetParameter", "*")]
