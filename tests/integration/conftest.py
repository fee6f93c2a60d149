"""The integration tests drive the session's local cloud (fixtures `cloud`, `endpoints`, `aws`,
`http` in tests/conftest.py, shared with tests/e2e). LocalCloudProcess is imported from here by
the tests that start a cloud of their own."""

from tests.conftest import LocalCloudProcess as LocalCloudProcess
