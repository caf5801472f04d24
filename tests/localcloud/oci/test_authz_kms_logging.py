"""Policies over KMS, Logging and Logging Search: a user of group `devs` gets what the
policies grant (vaults and log content, not keys or log groups), through the real SDK."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import oci
import pytest

from support.tenancy import cloud_with_dev

pytestmark = pytest.mark.slow

NO_RETRY = oci.retry.NoneRetryStrategy()


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("authz-kms")
    with cloud_with_dev(root, ["Allow group devs to read vaults in compartment local",
                               "Allow group devs to read log-content in compartment local"]
                        ) as (cloud, config):
        yield {"cloud": cloud, "dev": config}


def _as(env: dict[str, Any], kind: type[Any], admin: bool = False) -> Any:
    cloud = env["cloud"]
    config = cloud.config if admin else env["dev"]
    return kind(config, service_endpoint=cloud.endpoint, retry_strategy=NO_RETRY)


def _status(call: Any) -> int:
    with pytest.raises(oci.exceptions.ServiceError) as info:
        call()
    return int(info.value.status)


def test_vaults_but_not_keys(env: dict[str, Any]) -> None:
    cloud = env["cloud"]
    vault = _as(env, oci.key_management.KmsVaultClient).get_vault(cloud.vault_id).data
    assert vault.id == cloud.vault_id
    keys = _as(env, oci.key_management.KmsManagementClient)
    assert _status(lambda: keys.list_keys(cloud.compartment_id)) == 404
    assert _status(lambda: keys.get_key(cloud.key_id)) == 404
    admin = _as(env, oci.key_management.KmsManagementClient, admin=True)
    assert [k.id for k in admin.list_keys(cloud.compartment_id).data] == [cloud.key_id]


def test_log_content_but_not_log_groups(env: dict[str, Any]) -> None:
    cloud = env["cloud"]
    admin = _as(env, oci.logging.LoggingManagementClient, admin=True)
    admin.create_log_group(oci.logging.models.CreateLogGroupDetails(
        compartment_id=cloud.compartment_id, display_name="g"))
    group = admin.list_log_groups(cloud.compartment_id).data[0]
    management = _as(env, oci.logging.LoggingManagementClient)
    assert _status(lambda: management.list_log_groups(cloud.compartment_id)) == 404
    assert _status(lambda: management.get_log_group(group.id)) == 404
    assert _status(lambda: management.create_log_group(oci.logging.models.CreateLogGroupDetails(
        compartment_id=cloud.compartment_id, display_name="mine"))) == 404

    searcher = _as(env, oci.loggingsearch.LogSearchClient)
    details = oci.loggingsearch.models.SearchLogsDetails(
        time_start=datetime.now(UTC) - timedelta(hours=1), time_end=datetime.now(UTC),
        search_query=f'search "{cloud.compartment_id}/g"')
    assert searcher.search_logs(details).data.results == []
    details.search_query = f'search "{cloud.tenancy_id}"'  # not granted in the root
    assert _status(lambda: searcher.search_logs(details)) == 404
