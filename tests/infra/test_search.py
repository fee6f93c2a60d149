"""Search (issue 14): the OpenSearch domain and its security settings, sizing from context, the
indexer's event path, least-privilege grants and cdk-nag -- on a stack holding only what the
search construct needs (one synth per module)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template

from infra.constructs.api import Edge
from infra.constructs.data import CatalogData, DataTables
from infra.constructs.events import PlatformEvents
from infra.constructs.identity import Identity
from infra.constructs.layers import Layers
from infra.constructs.nag import add_nag_checks
from infra.constructs.network import Network
from infra.constructs.search import CATALOG_EVENT_TYPES, SearchService
from tests.infra.conftest import TEST_CONTEXT


def _build(outdir: Path, **context: Any) -> tuple[cdk.Stack, SearchService]:
    app = cdk.App(outdir=str(outdir), context={**TEST_CONTEXT, **context}, builtin_cloud_formation_validation=False)
    stack = cdk.Stack(app, "SearchTest")
    network = Network(stack, "Network")
    identity = Identity(stack, "Identity")
    edge = Edge(stack, "Edge", vpc=network.vpc, issuer_url=identity.issuer_url,
                audience=[identity.user_pool_client.user_pool_client_id])  # fmt: skip
    layers = Layers(stack, "Layers")
    search = SearchService(
        stack,
        "Search",
        api=edge,
        identity=identity,
        events_bus=PlatformEvents(stack, "Events"),
        catalog=CatalogData(stack, "CatalogData"),
        data=DataTables(stack, "Data"),
        layers=[*layers.all, layers.search],
        vpc=network.vpc,
        vpc_subnets=network.private_subnets,
    )
    add_nag_checks(app)
    app.synth()
    return stack, search


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> tuple[cdk.Stack, SearchService, Template, Path]:
    outdir = tmp_path_factory.mktemp("search-cdk")
    stack, search = _build(outdir)
    template = Template.from_json(json.loads((outdir / "SearchTest.template.json").read_text()))
    return stack, search, template, outdir


def _lid(stack: cdk.Stack, construct: Any) -> str:
    return str(stack.resolve(construct.node.default_child.logical_id))


def test_domain_is_private_encrypted_https_only(synth: tuple) -> None:
    stack, search, template, _ = synth
    template.resource_count_is("AWS::OpenSearchService::Domain", 1)
    props = template.to_json()["Resources"][_lid(stack, search.domain)]["Properties"]
    assert props["EncryptionAtRestOptions"] == {"Enabled": True}
    assert props["NodeToNodeEncryptionOptions"] == {"Enabled": True}
    assert props["DomainEndpointOptions"] == {"EnforceHTTPS": True, "TLSSecurityPolicy": "Policy-Min-TLS-1-2-2019-07"}
    assert len(props["VPCOptions"]["SubnetIds"]) == 2
    assert all("private" in json.dumps(s) for s in props["VPCOptions"]["SubnetIds"])
    # IAM only: no resource policy that could open it, no fine-grained internal users.
    assert "AccessPolicies" not in props and "AdvancedSecurityOptions" not in props
    assert set(props["LogPublishingOptions"]) == {"SEARCH_SLOW_LOGS", "INDEX_SLOW_LOGS", "ES_APPLICATION_LOGS"}
    # The logs' delivery policy is a plain resource, not a custom-resource Lambda.
    template.resource_count_is("AWS::Logs::ResourcePolicy", 1)
    assert not [r for r in template.to_json()["Resources"].values() if r["Type"].startswith("Custom::")]


def test_domain_security_group_admits_https_from_the_three_search_functions_only(synth: tuple) -> None:
    stack, search, template, _ = synth
    sg = _lid(stack, search.security_group)
    group = {"Fn::GetAtt": [sg, "GroupId"]}
    ingress = [
        r["Properties"] for r in template.to_json()["Resources"].values()
        if r["Type"] == "AWS::EC2::SecurityGroupIngress" and r["Properties"]["GroupId"] == group
    ]  # fmt: skip
    assert len(ingress) == 3
    assert {(i["FromPort"], i["ToPort"], i["IpProtocol"]) for i in ingress} == {(443, 443, "tcp")}
    sgs = template.to_json()["Resources"][sg]["Properties"]
    assert "SecurityGroupIngress" not in sgs  # nothing else is let in


def test_sizing_and_zone_awareness_are_context_settings(synth: tuple, tmp_path: Path) -> None:
    stack, search, template, _ = synth
    cluster = template.to_json()["Resources"][_lid(stack, search.domain)]["Properties"]["ClusterConfig"]
    assert cluster["InstanceCount"] == 2 and cluster["ZoneAwarenessEnabled"] is True
    assert cluster["DedicatedMasterEnabled"] is False
    big_stack, big = _build(
        tmp_path,
        **{"reelstack:searchDataNodes": 4, "reelstack:searchInstanceType": "r6g.large.search",
           "reelstack:searchMasterNodes": 3, "reelstack:searchVolumeGb": 100},
    )  # fmt: skip
    props = json.loads((tmp_path / "SearchTest.template.json").read_text())["Resources"][_lid(big_stack, big.domain)]
    c = props["Properties"]["ClusterConfig"]
    assert (c["InstanceCount"], c["InstanceType"], c["DedicatedMasterCount"]) == (4, "r6g.large.search", 3)
    assert props["Properties"]["EBSOptions"]["VolumeSize"] == 100


def test_odd_data_nodes_with_zone_awareness_fail_at_synth(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="cannot spread evenly"):
        _build(tmp_path, **{"reelstack:searchDataNodes": 3})


def test_catalog_events_reach_the_indexer_through_a_queue_with_a_dead_letter_queue(synth: tuple) -> None:
    stack, search, template, _ = synth
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {"source": ["reelstack.catalog"], "detail-type": list(CATALOG_EVENT_TYPES)},
            "Targets": [Match.object_like({"Arn": {"Fn::GetAtt": [_lid(stack, search.queue), "Arn"]},
                                           "DeadLetterConfig": Match.any_value()})],
        },
    )  # fmt: skip
    queue = template.to_json()["Resources"][_lid(stack, search.queue)]["Properties"]
    assert queue["RedrivePolicy"]["maxReceiveCount"] == 5
    assert queue["SqsManagedSseEnabled"] is True
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {"FunctionName": {"Ref": _lid(stack, search.indexer)}, "FunctionResponseTypes": ["ReportBatchItemFailures"]},
    )


def _statements(template: Template, stack: cdk.Stack, fn: Any) -> list[dict[str, Any]]:
    role = _lid(stack, fn.role)
    out: list[dict[str, Any]] = []
    for res in template.to_json()["Resources"].values():
        if res["Type"] == "AWS::IAM::Policy" and {"Ref": role} in res["Properties"]["Roles"]:
            out += res["Properties"]["PolicyDocument"]["Statement"]
    return out


def _actions(statements: list[dict[str, Any]], prefix: str) -> set[str]:
    found: set[str] = set()
    for st in statements:
        acts = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        found |= {a for a in acts if a.startswith(prefix)}
    return found


def test_each_function_gets_only_the_access_it_uses(synth: tuple) -> None:
    stack, search, template, _ = synth
    http = _statements(template, stack, search.function)
    indexer = _statements(template, stack, search.indexer)
    reindex = _statements(template, stack, search.reindex_function)
    assert _actions(http, "es:") == {"es:ESHttpGet", "es:ESHttpPost"}
    assert _actions(indexer, "es:") == {"es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPut", "es:ESHttpPost"}
    assert "es:ESHttpDelete" in _actions(reindex, "es:")
    # The viewer's profile for the HTTP function; the catalog read-only for the other two.
    assert _actions(http, "dynamodb:") == {"dynamodb:GetItem"}
    assert _actions(indexer, "dynamodb:") == {"dynamodb:GetItem"}
    assert _actions(reindex, "dynamodb:") == {"dynamodb:GetItem", "dynamodb:Scan"}
    domain_arn = {"Fn::GetAtt": [_lid(stack, search.domain), "Arn"]}
    for st in http + indexer + reindex:
        if any(a.startswith("es:") for a in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]])):
            assert st["Resource"] == {"Fn::Join": ["", [domain_arn, "/*"]]}


def test_functions_get_the_endpoint_from_the_domain(synth: tuple) -> None:
    stack, search, template, _ = synth
    endpoint = {"Fn::GetAtt": [_lid(stack, search.domain), "DomainEndpoint"]}
    for fn in (search.function, search.indexer, search.reindex_function):
        env = template.to_json()["Resources"][_lid(stack, fn)]["Properties"]["Environment"]["Variables"]
        assert env["SEARCH_ENDPOINT"] == endpoint
        assert "VpcConfig" in template.to_json()["Resources"][_lid(stack, fn)]["Properties"]


def test_cdk_nag_finds_nothing_unacknowledged(synth: tuple) -> None:
    *_, outdir = synth
    report = outdir / "validation-report.json"
    findings = []
    if report.exists():
        for plugin in json.loads(report.read_text()).get("pluginReports", []):
            findings += [v["ruleName"] for v in plugin.get("violations", [])]
    assert findings == []
