"""Helpers shared by every test folder: tables, events, the Lambda context, waits, deployments.

Test modules import from here, never from a conftest or from another test module; conftest files hold fixtures
only, and a fixture that needs one of these helpers calls it.
"""
