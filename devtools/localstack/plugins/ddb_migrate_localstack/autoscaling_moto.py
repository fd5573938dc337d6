# mypy: ignore-errors
# (checked by the project's mypy from .venv, where localstack is not installed)
"""Application Auto Scaling for LocalStack, served by moto.

LocalStack 4.14 Community has no Application Auto Scaling: every call answers ``InternalFailure: The API for
service application-autoscaling is either not included in your current license plan or has not yet been
emulated by LocalStack`` (it is a LocalStack Pro service). The module's capacity pre-warm reads a table's
scalable targets (``DescribeScalableTargets``) before raising its capacity, and raises and restores their
minimum, so without it no pre-warmed run can start. moto implements the API, and its backend lives in the
LocalStack process next to the moto DynamoDB of ``dynamodb_moto``.

LocalStack generates no provider API for a service it does not ship, so this provider has no methods: its
dispatch table sends every operation of the service's botocore model to moto.

Selected with ``PROVIDER_OVERRIDE_APPLICATION_AUTOSCALING=moto``.
"""

from __future__ import annotations

from localstack.aws.spec import load_service
from localstack.services.moto import _proxy_moto
from localstack.services.plugins import Service, aws_provider

SERVICE = "application-autoscaling"


class MotoApplicationAutoScalingProvider:
    service = SERVICE


def _every_operation_to_moto(_provider: MotoApplicationAutoScalingProvider) -> dict:
    return dict.fromkeys(load_service(SERVICE).operation_names, _proxy_moto)


@aws_provider(api=SERVICE, name="moto")
def application_autoscaling_moto() -> Service:
    return Service.for_provider(MotoApplicationAutoScalingProvider(), dispatch_table_factory=_every_operation_to_moto)
