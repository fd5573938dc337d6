"""Every IAM policy the Terraform code can create is one that tests/terraform/root_iam_exact_resources.tftest.hcl audits.

That terraform test reads the policies through the modules' `*_role_policies` outputs, with every feature on.
This test closes the gap a new resource would open: an IAM policy resource, a policy inlined in a role, or a new
Lambda (a new role) that the outputs, and so the audit, do not cover makes it fail with what to extend.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from devtools.tfdocs import parse_file, unquote_label

ROOT = Path(__file__).resolve().parents[2]

# (directory, resource type, name) -> the policy expression, which must be a value of the map that the module's
# role_policies output exposes.
AUDITED_POLICY_RESOURCES = {
    ("modules/lambda_function", "aws_iam_role_policy", "logs"): '${local.own_policies["logs"]}',
    ("modules/lambda_function", "aws_iam_role_policy", "xray"): '${local.own_policies["xray"]}',
    ("modules/lambda_function", "aws_iam_role_policy", "this"): "${each.value}",  # for_each = var.policies
    ("modules/backfill", "aws_iam_role_policy", "state_machine"): "${each.value}",  # local.state_machine_policies
}
AUDITED_FOR_EACH = {
    ("modules/lambda_function", "aws_iam_role_policy", "this"): "${var.policies}",
    ("modules/backfill", "aws_iam_role_policy", "state_machine"): "${local.state_machine_policies}",
}
AUDITED_ROLES = {
    ("modules/lambda_function", "aws_iam_role", "this"),
    ("modules/backfill", "aws_iam_role", "state_machine"),
}
# Each call of modules/lambda_function is one role; the terraform test reads its <name>_role_policies output.
AUDITED_LAMBDAS = {
    ("modules/backfill", "worker"),
    ("modules/replication", "forwarder"),
    ("modules/replication", "consumer"),
}
# Resource types that attach or define identity-based permissions.
IAM_POLICY_TYPES = {
    "aws_iam_role_policy",
    "aws_iam_policy",
    "aws_iam_role_policy_attachment",
    "aws_iam_policy_attachment",
    "aws_iam_role_policies_exclusive",
    "aws_iam_role_policy_attachments_exclusive",
    "aws_iam_user_policy",
    "aws_iam_group_policy",
}


def terraform_directories() -> list[Path]:
    directories = [ROOT, *sorted((ROOT / "modules").iterdir())]
    return [d for d in directories if d.is_dir() and any(d.glob("*.tf"))]


@cache  # python-hcl2 takes a second or so for the whole tree
def blocks(kind: str) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(directory, first label, second label or "", body) of every block of one kind in the module code."""
    found = []
    for directory in terraform_directories():
        relative = directory.relative_to(ROOT).as_posix()
        for path in sorted(directory.glob("*.tf")):
            for block in parse_file(path).get(kind, []):
                for label, body in block.items():
                    if kind == "resource":
                        for name, resource in body.items():
                            found.append((relative, unquote_label(label), unquote_label(name), resource))
                    else:
                        found.append((relative, unquote_label(label), "", body))
    return found


def test_every_iam_policy_resource_is_audited() -> None:
    policies = {
        (directory, kind, name): body for directory, kind, name, body in blocks("resource") if kind in IAM_POLICY_TYPES
    }

    assert set(policies) == set(AUDITED_POLICY_RESOURCES), (
        "IAM policy resources changed: make their policies part of a *_role_policies output, audit them in "
        "tests/terraform/root_iam_exact_resources.tftest.hcl, then list them here."
    )
    assert {key: body.get("policy") for key, body in policies.items()} == AUDITED_POLICY_RESOURCES
    assert {key: policies[key].get("for_each") for key in AUDITED_FOR_EACH} == AUDITED_FOR_EACH


def test_roles_carry_no_policies_of_their_own() -> None:
    roles = {
        (directory, kind, name): body for directory, kind, name, body in blocks("resource") if kind == "aws_iam_role"
    }

    assert set(roles) == AUDITED_ROLES
    for key, body in roles.items():
        assert not {"inline_policy", "managed_policy_arns"} & set(body), key


def test_every_lambda_role_is_audited() -> None:
    lambdas = {
        (directory, name)
        for directory, name, _, body in blocks("module")
        if unquote_label(str(body.get("source", ""))).rstrip("/").endswith("lambda_function")
    }

    assert lambdas == AUDITED_LAMBDAS, (
        "A Lambda was added or removed: expose its role_policies as an output and audit it in "
        "tests/terraform/root_iam_exact_resources.tftest.hcl."
    )
