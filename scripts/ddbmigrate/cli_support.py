"""What every ``ddb-migrate`` command shares: the exit code convention, one-line errors, the console, options.

Exit codes are a contract with pipelines: 0 ok, 1 the command's own negative verdict, 2 the command could not
run, 130 interrupted. A CI gate must never read an outage as a verdict, so every error that is not a verdict is
turned into exit 2 and one line saying what to fix; ``--debug`` adds the traceback.
"""

from __future__ import annotations

import functools
import json
import os
import shlex
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from botocore import exceptions as boto_errors
from click.core import ParameterSource
from rich.console import Console

from ddbmigrate.deployment import DeploymentNotFoundError

EXIT_OK = 0
EXIT_VERDICT = 1
EXIT_CANNOT_RUN = 2
EXIT_INTERRUPTED = 130

# Wide enough that no execution ARN, queue URL or key is ever split when the output is piped.
PIPE_WIDTH = 1000

F = TypeVar("F", bound=Callable[..., Any])


def exit_codes(verdict: str | None) -> str:
    """The epilog every command's --help ends with; ``verdict`` is what exit 1 means for that command."""
    could_not_run = "2 could not run (credentials, endpoint, missing deployment or execution, bad input)"
    if verdict is None:
        return f"Exit status: 0 ok; {could_not_run}; 130 interrupted. This command does not exit 1."
    return f"Exit status: 0 ok; 1 {verdict}; {could_not_run}; 130 interrupted."


class CannotRunError(click.ClickException):
    """The command could not do its work; exit 2 keeps it apart from a negative verdict (1)."""

    exit_code = EXIT_CANNOT_RUN


class Interrupted(click.exceptions.Exit):
    def __init__(self) -> None:
        super().__init__(EXIT_INTERRUPTED)


def make_console(*, stderr: bool = False) -> Console:
    """A console that never wraps identifiers when its output is not a terminal."""
    console = Console(highlight=False, soft_wrap=True, stderr=stderr)
    if not console.is_terminal:
        console.width = PIPE_WIDTH
    return console


class State:
    """Per-invocation settings of the CLI, kept on the click context."""

    def __init__(self, debug: bool) -> None:
        self.debug = debug
        self.console = make_console()

    def text_to_stderr(self) -> None:
        """With ``--json -`` stdout carries the JSON document alone; everything for humans goes to stderr."""
        self.console = make_console(stderr=True)


def state() -> State:
    current = click.get_current_context().find_object(State)
    if current is None:  # a command invoked on its own, outside ``main`` (tests of a single command)
        current = State(debug=False)
        click.get_current_context().obj = current
    return current


# ----------------------------------------------------------------------------------------------------------------
# Errors
# ----------------------------------------------------------------------------------------------------------------

CREDENTIAL_ERROR_CODES = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
        "RequestExpired",
        "IncompleteSignature",
        "MissingAuthenticationToken",
    }
)
ACCESS_ERROR_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})


def _endpoint_hint() -> str:
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        return f"AWS_ENDPOINT_URL is {endpoint}: start the emulator or LocalStack there, or unset it to use AWS"
    return "check the network, a proxy (HTTPS_PROXY), or set AWS_ENDPOINT_URL for LocalStack or the emulator"


def _client_error(error: boto_errors.ClientError) -> str:
    details = error.response.get("Error", {})
    code = str(details.get("Code", "Unknown"))
    message = " ".join(str(details.get("Message", "")).split())
    operation = error.operation_name
    if code in CREDENTIAL_ERROR_CODES:
        return (
            f"AWS refused the credentials ({code} on {operation}: {message}); check AWS_PROFILE or "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, and that they are for this account and not expired"
        )
    if code in ACCESS_ERROR_CODES:
        return f"not allowed: {operation} was denied ({message}); the caller's IAM policy needs it"
    return f"{operation} failed: {code}: {message}"


def _connection_error(error: Exception) -> str:
    endpoint = getattr(error, "kwargs", {}).get("endpoint_url")
    where = f" {endpoint}" if endpoint else ""
    return f"cannot reach AWS at{where} ({type(error).__name__}): {_endpoint_hint()}"


# Checked in order: the first type that matches explains the error.
EXPLANATIONS: tuple[tuple[type[Exception] | tuple[type[Exception], ...], Callable[[Any], str]], ...] = (
    (DeploymentNotFoundError, str),
    (
        boto_errors.NoCredentialsError,
        lambda _: (
            "no AWS credentials found: set AWS_PROFILE (a profile in ~/.aws/config), or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or run where a role provides them"
        ),
    ),
    (
        (boto_errors.PartialCredentialsError, boto_errors.CredentialRetrievalError),
        lambda error: f"the AWS credentials are incomplete: {error}",
    ),
    (
        boto_errors.ProfileNotFound,
        lambda error: f"{error} (AWS_PROFILE); list the profiles with `aws configure list-profiles`",
    ),
    (
        boto_errors.NoRegionError,
        lambda _: "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION, or region in the AWS profile)",
    ),
    (
        (boto_errors.SSOError, boto_errors.TokenRetrievalError),
        lambda error: f"the AWS SSO session cannot be used: {error}; run `aws sso login`",
    ),
    ((boto_errors.ConnectionError, boto_errors.HTTPClientError), _connection_error),
    (boto_errors.ClientError, _client_error),
    (boto_errors.BotoCoreError, str),
)


def explain(error: BaseException) -> str:
    """One line that says what went wrong and what to do about it."""
    for types, explanation in EXPLANATIONS:
        if isinstance(error, types):
            return " ".join(explanation(error).split())
    text = " ".join(str(error).split())
    return f"unexpected {type(error).__name__}: {text} (rerun with --debug for the traceback)"


class Main(click.Group):
    """The top-level group: turns every error that escapes a command into the exit code convention."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            raise Interrupted from None
        except Exception as error:
            if ctx.params.get("debug"):
                traceback.print_exc()
            raise CannotRunError(explain(error)) from error


# ----------------------------------------------------------------------------------------------------------------
# Options
# ----------------------------------------------------------------------------------------------------------------


class EnvAwareOption(click.Option):
    """An option whose error names the environment variable when the bad value came from there."""

    def get_error_hint(self, ctx: click.Context) -> str:
        hint = super().get_error_hint(ctx)
        if self.name is not None and ctx.get_parameter_source(self.name) is ParameterSource.ENVIRONMENT:
            envvar = self.envvar if isinstance(self.envvar, str) else "/".join(self.envvar or ())
            return f"environment variable {envvar} (read for {hint})"
        return hint


option = functools.partial(click.option, cls=EnvAwareOption)


def json_option(*, deprecated_alias: bool = False) -> Callable[[F], F]:
    def decorate(command: F) -> F:
        command = option(
            "--json",
            "json_path",
            type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
            help="Write the result as JSON to this file; - writes it to stdout (and the text to stderr).",
        )(command)
        if deprecated_alias:
            command = option(
                "--json-output",
                "json_output",
                type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
                hidden=True,
                help="Deprecated spelling of --json.",
            )(command)
        return command

    return decorate


def json_target(json_path: Path | None, json_output: Path | None = None) -> Path | None:
    """The --json path, honouring the deprecated --json-output; sends the text to stderr for ``-``."""
    if json_output is not None:
        click.echo("--json-output is deprecated; use --json", err=True)
        json_path = json_path or json_output
    if json_path is not None and str(json_path) == "-":
        state().text_to_stderr()
    return json_path


def write_json(path: Path | None, document: dict[str, Any]) -> None:
    if path is None:
        return
    text = json.dumps(document, indent=2, default=str)
    if str(path) == "-":
        click.echo(text)
    else:
        path.write_text(text + "\n", encoding="utf-8")


def deployment_flags(state_machine: str | None, terraform_dir: Path | None) -> str:
    """The flags that found this deployment, for the commands the CLI tells the operator to run next."""
    if terraform_dir is not None:
        return f" --terraform-dir {shlex.quote(str(terraform_dir))}"
    if state_machine is not None:
        return f" --state-machine {shlex.quote(state_machine)}"
    return ""


def fail(message: str) -> NoReturn:
    raise CannotRunError(" ".join(message.split()))


deployment_options = [
    option(
        "--state-machine",
        envvar="STATE_MACHINE_ARN",
        help="Backfill state machine name or ARN (env STATE_MACHINE_ARN).",
    ),
    option(
        "--terraform-dir",
        envvar="DDB_MIGRATE_TERRAFORM_DIR",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        help="Terraform root module whose outputs describe the migration (env DDB_MIGRATE_TERRAFORM_DIR).",
    ),
]


def with_deployment(command: F) -> F:
    for decorator in reversed(deployment_options):
        command = decorator(command)
    return command
