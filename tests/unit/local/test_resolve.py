"""CloudFormation intrinsics resolved against what the local cloud provisioned."""

from __future__ import annotations

import pytest

from local.resolve import UNSUPPORTED, Physical, Resolver, Unresolvable, scrub


def resolver() -> Resolver:
    r = Resolver("Stack", {"Parameters": {"Env": {"Default": "dev"}},
                           "Conditions": {"IsDev": {"Fn::Equals": [{"Ref": "Env"}, "dev"]}}})
    r.physical["Table"] = Physical("Stack-Table", {"Arn": "arn:aws:dynamodb:us-east-1:123456789012:table/Stack-Table"})
    r.unsupported.add("Dax")
    r.exports["shared-bucket"] = "bucket-1"
    return r


def test_ref_getatt_join_sub_select_split_if_importvalue() -> None:
    r = resolver()
    assert r.resolve({"Ref": "Table"}) == "Stack-Table"
    assert r.resolve({"Fn::GetAtt": ["Table", "Arn"]}).endswith(":table/Stack-Table")
    assert r.resolve({"Fn::GetAtt": "Table.Arn"}).endswith(":table/Stack-Table")
    assert r.resolve({"Fn::Join": ["/", ["a", {"Ref": "Table"}]]}) == "a/Stack-Table"
    assert r.resolve({"Fn::Sub": "${Table}-${AWS::Region}-${!Literal}"}) == "Stack-Table-us-east-1-${Literal}"
    assert r.resolve({"Fn::Sub": ["${X}.${Table.Arn}", {"X": "x"}]}).startswith("x.arn:aws:dynamodb")
    assert r.resolve({"Fn::Select": [1, {"Fn::Split": [",", "a,b,c"]}]}) == "b"
    assert r.resolve({"Fn::If": ["IsDev", "yes", "no"]}) == "yes"
    assert r.resolve({"Fn::ImportValue": "shared-bucket"}) == "bucket-1"
    assert r.resolve({"Ref": "Env"}) == "dev"
    assert r.resolve([{"Ref": "AWS::NoValue"}, "kept"]) == ["kept"]


def test_unprovisioned_reference_waits_and_unsupported_scrubs_to_empty() -> None:
    r = resolver()
    with pytest.raises(Unresolvable):
        r.resolve({"Ref": "NotYetCreated"})
    endpoint = r.resolve({"Fn::Join": ["", ["daxs://", {"Fn::GetAtt": ["Dax", "ClusterDiscoveryEndpoint"]}, ":9111"]]})
    assert UNSUPPORTED in endpoint
    assert scrub({"Variables": {"DAX_ENDPOINT": endpoint, "TABLE": "t"}}) == {
        "Variables": {"DAX_ENDPOINT": "", "TABLE": "t"}
    }
