# mypy: ignore-errors
# (checked by the project's mypy from .venv, where localstack is not installed)
"""Where LocalStack 4.14's own services answer unlike AWS in a way the module's deployment meets: fixed here, in
the test target, never by changing the module. Each fix is a ``localstack.hooks.on_infra_start`` hook (the
plugins' pyproject.toml) that patches one LocalStack function.

- Step Functions, ``"ToleratedFailurePercentage": 0`` (any whole number): LocalStack's ASL grammar
  (``ASLParser.g4``, ``tolerated_failure_percentage_number``) takes only the lexer's ``NUMBER`` token there,
  but its lexer types a number without a fraction or exponent as ``INT``, so CreateStateMachine fails with
  ``SCHEMA_VALIDATION_FAILED ... no viable alternative at input '"ToleratedFailurePercentage":0'``. Step
  Functions takes any JSON number from 0 to 100 there; the module renders the variable's number (0 by default),
  which Terraform's ``jsonencode`` writes without a fraction. The fix retypes such an ``INT`` as ``NUMBER``,
  which the grammar accepts and the preprocessor reads with ``float()``. The stored definition is unchanged.
- SQS, ``SetQueueAttributes`` with ``RedriveAllowPolicy=""``: SQS removes the attribute; LocalStack stores the
  empty string and returns it (it removes an empty ``Policy`` and ``RedrivePolicy``, not this one). Terraform
  deletes an ``aws_sqs_queue_redrive_allow_policy`` by setting it to "" and then waits until GetQueueAttributes
  agrees (a missing attribute matches "", an empty one is compared as JSON and never does), so the destroy of
  every replication deployment hung until the provider's timeout. The fix removes the empty attribute.
- Lambda's SQS event source mapping on a FIFO queue: LocalStack's poller (``pollers/sqs_poller.py``) splits each
  batch it receives by message group and invokes the function once per group, one after the other. Lambda
  sends a FIFO batch as it comes, messages of several groups in one invocation, each group in its order (the
  reason Powertools' ``SqsFifoPartialProcessor`` has ``skip_group_on_error``). The module's replication queue
  has a message group per item, so on LocalStack every invocation carried one item's changes and a queue of a
  few thousand changes took many minutes to drain. The fix hands the poller the batch as one group; the
  poller then invokes once and deletes what the function did not report as failed, as Lambda does.
  Still unlike Lambda: one poller per mapping, so one invocation at a time (Lambda scales a FIFO mapping up to
  the number of active message groups).
- Step Functions ``StopExecution``: LocalStack only asks the execution's interpreter thread to stop; the status
  turns ABORTED when that thread next looks, which is after the state in progress ends (a Lambda invocation, a
  Retry's wait), so DescribeExecution right after StopExecution still says RUNNING. On Step Functions the
  execution is ABORTED when StopExecution returns; ``ddb-migrate stop`` reads it then, to decide whether to
  reset a pre-warmed run's capacity, and the run lock lets the next run start only once the last is not
  RUNNING. The fix sets ABORTED and the stop date as StopExecution returns; the thread still ends the
  interpretation and writes the ExecutionAborted event when it looks.
"""

from __future__ import annotations

from antlr4 import Token
from localstack.aws.api.stepfunctions import ExecutionStatus
from localstack.runtime import hooks
from localstack.services.lambda_.event_source_mapping.pollers import sqs_poller
from localstack.services.sqs.provider import SqsProvider
from localstack.services.stepfunctions.asl.antlr.runtime.ASLLexer import ASLLexer
from localstack.services.stepfunctions.backend.execution import Execution
from localstack.utils.patch import Patch

REDRIVE_ALLOW_POLICY = "RedriveAllowPolicy"


def _retype_integer_percentages(next_token, self):
    token = next_token(self)
    if token.channel != Token.DEFAULT_CHANNEL:
        return token
    before = getattr(self, "_ddb_migrate_previous", (None, None))
    if token.type == ASLLexer.INT and before == (ASLLexer.TOLERATEDFAILUREPERCENTAGE, ASLLexer.COLON):
        token.type = ASLLexer.NUMBER
    self._ddb_migrate_previous = (before[1], token.type)
    return token


def _remove_empty_redrive_allow_policy(set_queue_attributes, self, context, queue_url, attributes=None, **kwargs):
    result = set_queue_attributes(self, context, queue_url, attributes, **kwargs)
    if attributes and attributes.get(REDRIVE_ALLOW_POLICY) == "":
        self._resolve_queue(context, queue_url=queue_url).attributes.pop(REDRIVE_ALLOW_POLICY, None)
    return result


def _aborted_when_stopped(stop, self, stop_date, error, cause):
    stop(self, stop_date=stop_date, error=error, cause=cause)
    if self.exec_status == ExecutionStatus.RUNNING:
        self.exec_status = ExecutionStatus.ABORTED
        self.stop_date = stop_date


def _one_batch_for_all_groups(_split_by_message_group_id, messages):
    return {"": list(messages)}


@hooks.on_infra_start()
def accept_integer_tolerated_failure_percentage() -> None:
    Patch.function(ASLLexer.nextToken, _retype_integer_percentages).apply()


@hooks.on_infra_start()
def remove_empty_redrive_allow_policy() -> None:
    Patch.function(SqsProvider.set_queue_attributes, _remove_empty_redrive_allow_policy).apply()


@hooks.on_infra_start()
def fifo_batches_across_message_groups() -> None:
    Patch.function(sqs_poller.split_by_message_group_id, _one_batch_for_all_groups).apply()


@hooks.on_infra_start()
def aborted_when_stopped() -> None:
    Patch.function(Execution.stop, _aborted_when_stopped).apply()
