"""What an API request asks IAM for: the actions, resource ARNs and condition keys of one request.

Pure: the emulator's IAM gate (:mod:`.iam_gate`) hands in the request's service, operation and parameters as moto
parsed them, plus a lookup for the one thing that needs moto's state (the ARN of an existing Application Auto
Scaling target). Resources follow AWS's Service Authorization Reference:

- DynamoDB: the table ARN (``TableName`` may be a name or an ARN), the export ARN for ``DescribeExport``, the
  index ARN for a Query or Scan of an index,
  every table of ``BatchGetItem`` / ``BatchWriteItem``, and for ``TransactWriteItems`` / ``TransactGetItems`` the
  underlying ``PutItem`` / ``UpdateItem`` / ``DeleteItem`` / ``ConditionCheckItem`` / ``GetItem`` per table, as
  DynamoDB authorizes transactions; streams by ``StreamArn`` (and the stream an iterator belongs to);
  ``ListTables``, ``ListStreams`` and the other account-level calls on ``*``.
- SQS: ``QueueUrl`` (or ``QueueName`` and ``QueueOwnerAWSAccountId``) as the queue ARN; the batch calls need
  the single-message action (``SendMessageBatch`` is ``sqs:SendMessage``).
- Lambda: the function ARN from a name, partial ARN or ARN, with the qualifier of the name or of the
  ``Qualifier`` parameter; ``Invoke`` is ``lambda:InvokeFunction``; event source mappings by their ARN.
- Step Functions: the state machine, execution or Map Run ARN the call names.
- Application Auto Scaling: the scalable target's ARN with the ``service-namespace`` and ``scalable-dimension``
  condition keys; the ``Describe*`` calls on ``*``, the only resource they support.
- CloudWatch: alarms by ARN, metrics on ``*`` (they support no resource-level permissions).
- CloudWatch Logs, KMS, STS (``AssumeRole`` on the role, with ``sts:ExternalId``), IAM: by the names they take.

Any other call is authorized as ``<service prefix>:<operation>`` on ``*``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlparse

from .iam_policy import ContextValue

# moto's service names -> IAM service prefixes, where they differ.
SERVICE_PREFIXES = {
    "awslambda": "lambda",
    "dynamodbstreams": "dynamodb",
    "stepfunctions": "states",
}
# Operations that need no permission at all.
UNAUTHORIZED_OPERATIONS = frozenset({("sts", "GetCallerIdentity")})

_LAMBDA_ACTIONS = {
    "Invoke": "InvokeFunction",
    "InvokeWithResponseStream": "InvokeFunction",
    "GetLayerVersionByArn": "GetLayerVersion",
}
_SQS_ACTIONS = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}
_SQS_ACCOUNT_LEVEL = frozenset({"ListQueues", "CancelMessageMoveTask"})
_DYNAMODB_ACCOUNT_LEVEL = frozenset(
    {
        "ListTables",
        "ListStreams",
        "ListBackups",
        "ListGlobalTables",
        "ListExports",
        "ListImports",
        "ListContributorInsights",
        "DescribeLimits",
        "DescribeEndpoints",
        "DescribeReservedCapacity",
        "DescribeReservedCapacityOfferings",
    }
)
_TRANSACT_WRITE = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
_PARTIQL = re.compile(
    r'^\s*(SELECT|INSERT|UPDATE|DELETE)\b.*?\b(?:FROM|INTO|UPDATE)\s+"?([A-Za-z0-9_.-]+)"?', re.I | re.S
)
_PARTIQL_UPDATE = re.compile(r'^\s*UPDATE\s+"?([A-Za-z0-9_.-]+)"?', re.I)
_STATES_RESOURCE_PARAMS = ("stateMachineArn", "executionArn", "mapRunArn", "resourceArn", "activityArn")
_AUTOSCALING_TARGET_OPERATIONS = frozenset(
    {
        "RegisterScalableTarget",
        "DeregisterScalableTarget",
        "PutScalingPolicy",
        "DeleteScalingPolicy",
        "PutScheduledAction",
        "DeleteScheduledAction",
    }
)
_ALARM_OPERATIONS = frozenset(
    {
        "PutMetricAlarm",
        "PutCompositeAlarm",
        "DeleteAlarms",
        "DescribeAlarms",
        "DescribeAlarmHistory",
        "EnableAlarmActions",
        "DisableAlarmActions",
        "SetAlarmState",
    }
)


@dataclass(frozen=True)
class Authorization:
    """One thing IAM must allow: ``action`` on ``resource`` (an ARN or ``*``) with extra condition keys."""

    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)


@dataclass(frozen=True)
class Request:
    """The parts of an API request that decide what it needs."""

    service: str
    """moto's service name (``dynamodb``, ``awslambda``, ``stepfunctions``, ...)."""
    operation: str
    params: Mapping[str, Any]
    region: str
    account_id: str
    """The account moto serves the request from: names without an account resolve there."""
    partition: str = "aws"
    path_params: Mapping[str, str] = field(default_factory=dict)
    """Parameters of a REST request's path (Lambda's ``FunctionName``, ``UUID``, ...)."""

    def arn(self, service: str, resource: str, *, region: str | None = None, account: str | None = None) -> str:
        region = self.region if region is None else region
        account = self.account_id if account is None else account
        return f"arn:{self.partition}:{service}:{region}:{account}:{resource}"


ScalableTargetLookup = Callable[[str, str, str, str, str], str | None]
"""(account, region, service namespace, resource id, scalable dimension) -> the existing target's ARN."""


def authorizations(request: Request, scalable_target: ScalableTargetLookup | None = None) -> list[Authorization]:
    """Everything ``request`` needs; an empty list when it needs no permission."""
    if (request.service, request.operation) in UNAUTHORIZED_OPERATIONS:
        return []
    resolver = _RESOLVERS.get(request.service)
    if resolver is not None:
        resolved = resolver(request, scalable_target)
        if resolved is not None:
            return resolved
    return [Authorization(f"{prefix(request.service)}:{request.operation}", "*")]


def prefix(service: str) -> str:
    return SERVICE_PREFIXES.get(service, service)


def _param(request: Request, *names: str) -> str | None:
    for name in names:
        value = request.params.get(name)
        if isinstance(value, str) and value:
            return value
    return None


# --------------------------------------------------------------------------------------------------
# DynamoDB and DynamoDB Streams


def table_arn(request: Request, name_or_arn: str) -> str:
    if name_or_arn.startswith("arn:"):
        return name_or_arn
    return request.arn("dynamodb", f"table/{name_or_arn}")


def _dynamodb(request: Request, _: ScalableTargetLookup | None) -> list[Authorization] | None:
    operation = request.operation
    action = f"dynamodb:{operation}"
    if operation in _DYNAMODB_ACCOUNT_LEVEL:
        return [Authorization(action, "*")]
    if operation in ("BatchGetItem", "BatchWriteItem"):
        tables = request.params.get("RequestItems") or {}
        return [Authorization(action, table_arn(request, str(name))) for name in tables]
    if operation in ("TransactWriteItems", "TransactGetItems"):
        return _transaction(request)
    if operation in ("ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction"):
        return _partiql(request)
    name = _param(request, "TableName", "ResourceArn", "TableArn", "GlobalTableName", "ExportArn")
    if name is None:
        return [Authorization(action, "*")]
    resource = table_arn(request, name)
    index = _param(request, "IndexName")
    if index is not None and operation in ("Query", "Scan"):
        resource = f"{resource}/index/{index}"
    return [Authorization(action, resource)]


def _transaction(request: Request) -> list[Authorization]:
    needed: list[Authorization] = []
    for entry in request.params.get("TransactItems") or []:
        if not isinstance(entry, Mapping):
            continue
        for kind, detail in entry.items():
            operation = "GetItem" if kind == "Get" else _TRANSACT_WRITE.get(str(kind))
            if operation is None or not isinstance(detail, Mapping) or not detail.get("TableName"):
                continue
            authorization = Authorization(f"dynamodb:{operation}", table_arn(request, str(detail["TableName"])))
            if authorization not in needed:
                needed.append(authorization)
    return needed


def _partiql(request: Request) -> list[Authorization]:
    statements: list[str] = []
    if request.operation == "ExecuteStatement":
        statements.append(str(request.params.get("Statement", "")))
    else:
        key = "Statements" if request.operation == "BatchExecuteStatement" else "TransactStatements"
        statements += [
            str(entry.get("Statement", "")) for entry in request.params.get(key) or [] if isinstance(entry, Mapping)
        ]
    needed: list[Authorization] = []
    for statement in statements:
        update = _PARTIQL_UPDATE.match(statement)
        match = _PARTIQL.match(statement)
        if update is not None:
            verb, table = "UPDATE", update.group(1)
        elif match is not None:
            verb, table = match.group(1).upper(), match.group(2)
        else:
            needed.append(Authorization("dynamodb:PartiQLSelect", "*"))
            continue
        needed.append(Authorization(f"dynamodb:PartiQL{verb.capitalize()}", table_arn(request, table)))
    return needed


def _dynamodb_streams(request: Request, _: ScalableTargetLookup | None) -> list[Authorization] | None:
    action = f"dynamodb:{request.operation}"
    stream = _param(request, "StreamArn")
    if stream is None and request.operation == "GetRecords":
        # moto's shard iterators start with the stream's ARN (AWS's are opaque, but name the stream too).
        iterator = _param(request, "ShardIterator")
        stream = iterator.split("|", 1)[0] if iterator and iterator.startswith("arn:") else None
    return [Authorization(action, stream or "*")]


# --------------------------------------------------------------------------------------------------
# SQS


def queue_arn(request: Request, url_or_name: str, owner: str | None = None) -> str:
    """``arn:aws:sqs:region:account:name`` of a queue URL (``.../<account>/<name>``) or name."""
    if url_or_name.startswith(("http://", "https://")):
        parsed = urlparse(url_or_name)
        parts = [part for part in parsed.path.split("/") if part]
        name = parts[-1] if parts else ""
        account = parts[-2] if len(parts) >= 2 and parts[-2].isdigit() else request.account_id
        host = parsed.hostname or ""
        host_region = host.split(".")[1] if host.startswith("sqs.") and host.count(".") >= 3 else None
        return request.arn("sqs", name, region=host_region, account=account)
    return request.arn("sqs", url_or_name, account=owner)


def _sqs(request: Request, _: ScalableTargetLookup | None) -> list[Authorization] | None:
    operation = request.operation
    action = f"sqs:{_SQS_ACTIONS.get(operation, operation)}"
    if operation in _SQS_ACCOUNT_LEVEL:
        return [Authorization(action, "*")]
    url = _param(request, "QueueUrl")
    if url is not None:
        return [Authorization(action, queue_arn(request, url))]
    name = _param(request, "QueueName")
    if name is not None:
        return [Authorization(action, queue_arn(request, name, _param(request, "QueueOwnerAWSAccountId")))]
    source = _param(request, "SourceArn")
    return [Authorization(action, source or "*")]


# --------------------------------------------------------------------------------------------------
# Lambda


def function_arn(request: Request, name: str, qualifier: str | None = None) -> str:
    """The (qualified) function ARN of a function name, partial ARN (``account:function:name``) or ARN."""
    name = unquote(name)
    if name.startswith("arn:"):
        fields = name.split(":")
        base, own_qualifier = ":".join(fields[:7]), fields[7] if len(fields) > 7 else None
    else:
        fields = name.split(":")
        if len(fields) >= 3 and fields[1] == "function":
            account, function, own_qualifier = fields[0], fields[2], fields[3] if len(fields) > 3 else None
        else:
            account, function, own_qualifier = request.account_id, fields[0], fields[1] if len(fields) > 1 else None
        base = request.arn("lambda", f"function:{function}", account=account)
    qualifier = qualifier or own_qualifier
    return f"{base}:{qualifier}" if qualifier else base


def _lambda(request: Request, _: ScalableTargetLookup | None) -> list[Authorization] | None:
    operation = request.operation
    action = f"lambda:{_LAMBDA_ACTIONS.get(operation, operation)}"
    mapping = request.path_params.get("UUID")
    if mapping:
        return [Authorization(action, request.arn("lambda", f"event-source-mapping:{mapping}"))]
    name = request.path_params.get("FunctionName") or _param(request, "FunctionName")
    if name:
        qualifier = request.path_params.get("Qualifier") or _param(request, "Qualifier")
        return [Authorization(action, function_arn(request, name, qualifier))]
    arn = request.path_params.get("Resource") or request.path_params.get("ARN")
    return [Authorization(action, unquote(arn) if arn else "*")]


# --------------------------------------------------------------------------------------------------
# Step Functions


def _states(request: Request, _: ScalableTargetLookup | None) -> list[Authorization] | None:
    action = f"states:{request.operation}"
    resource = _param(request, *_STATES_RESOURCE_PARAMS)
    if resource is None and request.operation == "CreateStateMachine":
        name = _param(request, "name")
        resource = request.arn("states", f"stateMachine:{name}") if name else None
    return [Authorization(action, resource or "*")]


# --------------------------------------------------------------------------------------------------
# Application Auto Scaling and CloudWatch


def _application_autoscaling(
    request: Request, scalable_target: ScalableTargetLookup | None
) -> list[Authorization] | None:
    operation = request.operation
    action = f"application-autoscaling:{operation}"
    if operation in ("TagResource", "UntagResource", "ListTagsForResource"):
        return [Authorization(action, _param(request, "ResourceARN") or "*")]
    if operation not in _AUTOSCALING_TARGET_OPERATIONS:
        return [Authorization(action, "*")]
    namespace = _param(request, "ServiceNamespace") or ""
    resource_id = _param(request, "ResourceId") or ""
    dimension = _param(request, "ScalableDimension") or ""
    context: dict[str, ContextValue] = {}
    if namespace:
        context["application-autoscaling:service-namespace"] = namespace
    if dimension:
        context["application-autoscaling:scalable-dimension"] = dimension
    existing = (
        scalable_target(request.account_id, request.region, namespace, resource_id, dimension)
        if scalable_target is not None
        else None
    )
    # A target that does not exist yet has no ARN; only a wildcard statement can name it.
    resource = existing or request.arn("application-autoscaling", "scalable-target/*")
    return [Authorization(action, resource, context)]


def _cloudwatch(request: Request, _: ScalableTargetLookup | None) -> list[Authorization] | None:
    action = f"cloudwatch:{request.operation}"
    if request.operation not in _ALARM_OPERATIONS:
        return [Authorization(action, "*")]
    names: list[str] = []
    single = _param(request, "AlarmName")
    if single is not None:
        names.append(single)
    many = request.params.get("AlarmNames")
    if isinstance(many, Sequence) and not isinstance(many, str):
        names += [str(name) for name in many]
    if not names:
        return [Authorization(action, "*")]
    return [Authorization(action, request.arn("cloudwatch", f"alarm:{name}")) for name in names]


# --------------------------------------------------------------------------------------------------
# CloudWatch Logs, KMS, STS, IAM


def _logs(request: Request, _: ScalableTargetLookup | None) -> list[Authorization] | None:
    action = f"logs:{request.operation}"
    group = _param(request, "logGroupName")
    if group is None:
        identifier = _param(request, "logGroupIdentifier", "resourceArn")
        if identifier is not None and identifier.startswith("arn:"):
            return [Authorization(action, identifier)]
        group = identifier
    if group is None:
        return [Authorization(action, "*")]
    stream = _param(request, "logStreamName")
    suffix = f":log-stream:{stream}" if stream else ":*"
    return [Authorization(action, request.arn("logs", f"log-group:{group}{suffix}"))]


def _kms(request: Request, _: ScalableTargetLookup | None) -> list[Authorization] | None:
    action = f"kms:{request.operation}"
    key = _param(request, "KeyId", "TargetKeyId", "DestinationKeyId")
    if key is None:
        alias = _param(request, "AliasName")
        return [Authorization(action, request.arn("kms", alias) if alias else "*")]
    if key.startswith("arn:"):
        return [Authorization(action, key)]
    return [Authorization(action, request.arn("kms", key if key.startswith("alias/") else f"key/{key}"))]


def _sts(request: Request, _: ScalableTargetLookup | None) -> list[Authorization] | None:
    action = f"sts:{request.operation}"
    role = _param(request, "RoleArn")
    if role is None:
        return [Authorization(action, "*")]
    context: dict[str, ContextValue] = {}
    external_id = _param(request, "ExternalId")
    if external_id is not None:
        context["sts:ExternalId"] = external_id
    session_name = _param(request, "RoleSessionName")
    if session_name is not None:
        context["sts:RoleSessionName"] = session_name
    return [Authorization(action, role, context)]


def _iam(request: Request, _: ScalableTargetLookup | None) -> list[Authorization] | None:
    action = f"iam:{request.operation}"
    policy = _param(request, "PolicyArn")
    for parameter, kind in (("RoleName", "role"), ("UserName", "user"), ("InstanceProfileName", "instance-profile")):
        name = _param(request, parameter)
        if name is not None:
            return [Authorization(action, f"arn:{request.partition}:iam::{request.account_id}:{kind}/{name}")]
    return [Authorization(action, policy or "*")]


_RESOLVERS: dict[str, Callable[[Request, ScalableTargetLookup | None], list[Authorization] | None]] = {
    "dynamodb": _dynamodb,
    "dynamodbstreams": _dynamodb_streams,
    "sqs": _sqs,
    "awslambda": _lambda,
    "stepfunctions": _states,
    "application-autoscaling": _application_autoscaling,
    "cloudwatch": _cloudwatch,
    "logs": _logs,
    "kms": _kms,
    "sts": _sts,
    "iam": _iam,
}
