"""Provision a synthesized CloudFormation template into the local cloud through the AWS APIs.

DynamoDB tables go to DynamoDB Local (the `dynamodb` service endpoint), everything else to moto.
Mappings from a DynamoDB stream to a function are recorded for local/streams.py to deliver.

Like CloudFormation, each resource is created once its references resolve (several passes, no
hand-kept order). Resource types the local cloud has no data plane for (VPC, DAX, OpenSearch,
CloudFront, IAM policies, log groups, ...) are recorded as unsupported: references to them resolve
to "" so code takes its plain path (e.g. DynamoDB without DAX). State machines are created through
the Step Functions API (moto only executes those, not ones made by its CloudFormation).
"""

from __future__ import annotations

import io
import json
import logging
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

from local.assembly import StackTemplate
from local.cdn.template import CLOUDFRONT_TYPES, CdnResources
from local.edge import AlbRule, CorsConfig, HttpRoute, JwtAuthorizer
from local.edge.alb import DEFAULT_ACTION_PRIORITY
from local.kinesis import KinesisMapping, is_kinesis_arn
from local.lambda_runtime import FunctionSpec, LambdaRuntime
from local.resolve import REGION, Physical, Resolver, Unresolvable, arn, scrub
from local.streams import StreamMapping, is_stream_arn

log = logging.getLogger("reelstack.local")

_LOCAL_ROLE_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


@dataclass
class ScheduleRule:
    name: str
    expression: str
    targets: list[dict[str, Any]]


@dataclass
class Provisioned:
    """Everything the gateways, scheduler and tests need to know about what was created."""

    tables: dict[str, str] = field(default_factory=dict)  # logical id -> name
    buckets: dict[str, str] = field(default_factory=dict)
    queues: dict[str, str] = field(default_factory=dict)  # logical id -> url
    functions: dict[str, str] = field(default_factory=dict)  # logical id -> name
    state_machines: dict[str, str] = field(default_factory=dict)  # logical id -> arn
    user_pools: dict[str, str] = field(default_factory=dict)  # logical id -> pool id
    user_pool_clients: dict[str, str] = field(default_factory=dict)
    event_buses: dict[str, str] = field(default_factory=dict)
    http_routes: list[HttpRoute] = field(default_factory=list)
    alb_rules: list[AlbRule] = field(default_factory=list)
    schedules: list[ScheduleRule] = field(default_factory=list)
    http_cors: dict[str, CorsConfig] = field(default_factory=dict)  # api id -> its CORS
    unsupported: dict[str, str] = field(default_factory=dict)  # logical id -> type
    exports: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    stream_mappings: list[StreamMapping] = field(default_factory=list)  # delivered by local/streams.py
    kinesis_streams: dict[str, str] = field(default_factory=dict)  # logical id -> name (moto)
    kinesis_mappings: list[KinesisMapping] = field(default_factory=list)  # delivered by local/kinesis.py
    cdn: CdnResources = field(default_factory=CdnResources)  # CloudFront resources, for the edge fleet


def _name(stack: str, lid: str, limit: int, lower: bool = False) -> str:
    n = f"{stack}-{lid}"
    if lower:
        n = re.sub(r"[^a-z0-9-]", "", n.lower())
    return n[:limit].rstrip("-")


def _stub_zip() -> bytes:
    # moto wants a zip; the code that actually runs comes from the staged asset directory.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("README.txt", "code runs from the cloud assembly's asset directory")
    return buf.getvalue()


class Provisioner:
    def __init__(self, endpoint_url: str, runtime: LambdaRuntime, gateway_urls: dict[str, str],
                 service_endpoints: dict[str, str] | None = None) -> None:
        self.endpoint_url = endpoint_url
        self.service_endpoints = service_endpoints or {}  # e.g. {"dynamodb": DynamoDB Local's URL}
        self.runtime = runtime
        self.gateway_urls = gateway_urls
        self.out = Provisioned()
        self._layers: dict[str, Any] = {}  # layer arn -> asset dir
        self._clients: dict[str, Any] = {}
        self._pending_api: list[tuple[str, str, dict[str, Any]]] = []
        self._target_groups: dict[str, dict[str, Any]] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = boto3.client(
                service,
                endpoint_url=self.service_endpoints.get(service, self.endpoint_url),
                region_name=REGION,
                aws_access_key_id="local",
                aws_secret_access_key="local",
            )
        return self._clients[service]

    # ---------------------------------------------------------------- driver
    def provision(self, stack: StackTemplate) -> Resolver:
        res = Resolver(stack.name, stack.template, exports=self.out.exports)
        handlers = self._handlers()
        pending = dict(stack.resources)
        for lid, r in list(pending.items()):
            if r["Type"] not in handlers:
                res.unsupported.add(lid)
                self.out.unsupported[lid] = r["Type"]
                del pending[lid]
        # Deferred second half of the HTTP API: routes need integrations and authorizers.
        while pending:
            progressed = False
            errors: dict[str, str] = {}
            for lid, r in list(pending.items()):
                if "Condition" in r and not res.condition(r["Condition"]):
                    del pending[lid]
                    progressed = True
                    continue
                try:
                    props = scrub(res.resolve(r.get("Properties", {})))
                except Unresolvable as exc:
                    errors[lid] = str(exc)
                    continue
                handlers[r["Type"]](stack, res, lid, props, r)
                del pending[lid]
                progressed = True
            if not progressed:
                raise RuntimeError(f"cannot resolve references in {stack.name}: {errors}")
        for name, out in stack.template.get("Outputs", {}).items():
            ok, value = res.try_resolve(out.get("Value"))
            if ok:
                self.out.outputs[f"{stack.name}.{name}"] = value
                export = out.get("Export", {}).get("Name")
                if export:
                    self.out.exports[res.resolve(export)] = value
        self._finish_http_api(res)
        return res

    def _handlers(self) -> dict[str, Callable[..., None]]:
        return {
            "AWS::DynamoDB::Table": self.table,
            "AWS::DynamoDB::GlobalTable": self.table,  # CDK TableV2; replicas are irrelevant locally
            "AWS::S3::Bucket": self.bucket,
            "Custom::S3BucketNotifications": self.bucket_notifications,
            "AWS::SQS::Queue": self.queue,
            "AWS::SNS::Topic": self.topic,
            "AWS::SNS::Subscription": self.subscription,
            "AWS::Events::EventBus": self.event_bus,
            "AWS::Events::Rule": self.rule,
            "AWS::Cognito::UserPool": self.user_pool,
            "AWS::Cognito::UserPoolClient": self.user_pool_client,
            "AWS::Cognito::UserPoolGroup": self.user_pool_group,
            "AWS::IAM::Role": self.role,
            "AWS::Lambda::LayerVersion": self.layer,
            "AWS::Lambda::Function": self.function,
            "AWS::Lambda::EventSourceMapping": self.event_source_mapping,
            "AWS::Kinesis::Stream": self.kinesis_stream,
            "AWS::StepFunctions::StateMachine": self.state_machine,
            "AWS::ApiGatewayV2::Api": self.http_api,
            "AWS::ApiGatewayV2::Integration": self.http_integration,
            "AWS::ApiGatewayV2::Authorizer": self.http_authorizer,
            "AWS::ApiGatewayV2::Route": self.http_route,
            "AWS::ElasticLoadBalancingV2::LoadBalancer": self.alb,
            "AWS::ElasticLoadBalancingV2::Listener": self.alb_listener,
            "AWS::ElasticLoadBalancingV2::ListenerRule": self.alb_rule,
            "AWS::ElasticLoadBalancingV2::TargetGroup": self.target_group,
            **dict.fromkeys(CLOUDFRONT_TYPES, self.cloudfront),
            "AWS::OpenSearchService::Domain": self.search_domain,
        }

    # ---------------------------------------------------------------- data
    def table(self, stack: StackTemplate, res: Resolver, lid: str, p: dict[str, Any], _r: Any) -> None:
        name = p.get("TableName") or _name(stack.name, lid, 255)
        args: dict[str, Any] = {
            "TableName": name,
            "KeySchema": p["KeySchema"],
            "AttributeDefinitions": p["AttributeDefinitions"],
            "BillingMode": p.get("BillingMode", "PROVISIONED"),
        }
        if args["BillingMode"] == "PROVISIONED":
            args["ProvisionedThroughput"] = p.get(
                "ProvisionedThroughput", {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
            )
        for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            if p.get(key):
                idx = [dict(i) for i in p[key]]
                if args["BillingMode"] == "PAY_PER_REQUEST":
                    for i in idx:
                        i.pop("ProvisionedThroughput", None)
                args[key] = idx
        stream = p.get("StreamSpecification")
        if stream:
            args["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
        ddb = self.client("dynamodb")
        try:
            desc = ddb.create_table(**args)["TableDescription"]
        except ddb.exceptions.ResourceInUseException:
            desc = self._kept_table(args)  # kept from the last run (--keep-state)
        ttl = p.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            current = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
            if current.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
                ddb.update_time_to_live(
                    TableName=name,
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
                )
        res.physical[lid] = Physical(
            name, {"Arn": desc["TableArn"], "StreamArn": desc.get("LatestStreamArn", "")}
        )
        self.out.tables[lid] = name

    def _kept_table(self, args: dict[str, Any]) -> dict[str, Any]:
        """A table that exists from a kept state: same keys required; GSIs the template added since
        are created, as a CloudFormation update would."""
        ddb = self.client("dynamodb")
        desc: dict[str, Any] = ddb.describe_table(TableName=args["TableName"])["Table"]
        if desc["KeySchema"] != args["KeySchema"]:
            raise RuntimeError(
                f"table {args['TableName']} in the kept state has keys {desc['KeySchema']}, the template "
                f"{args['KeySchema']}: start once without --keep-state (or delete the state directory)"
            )
        have = {g["IndexName"] for g in desc.get("GlobalSecondaryIndexes", [])}
        defs = args["AttributeDefinitions"]
        for gsi in args.get("GlobalSecondaryIndexes", []):
            if gsi["IndexName"] not in have:
                log.info("table %s: creating index %s added since the state was kept", args["TableName"],
                         gsi["IndexName"])
                ddb.update_table(TableName=args["TableName"], AttributeDefinitions=defs,
                                 GlobalSecondaryIndexUpdates=[{"Create": gsi}])
        want_stream = args.get("StreamSpecification")
        if want_stream and not desc.get("StreamSpecification", {}).get("StreamEnabled"):
            ddb.update_table(TableName=args["TableName"], StreamSpecification=want_stream)
            desc = ddb.describe_table(TableName=args["TableName"])["Table"]
        return desc

    def bucket(self, stack: StackTemplate, res: Resolver, lid: str, p: dict[str, Any], _r: Any) -> None:
        name = p.get("BucketName") or _name(stack.name, lid, 63, lower=True)
        s3 = self.client("s3")
        s3.create_bucket(Bucket=name)
        if p.get("CorsConfiguration"):
            rules = [
                {
                    "AllowedMethods": r["AllowedMethods"],
                    "AllowedOrigins": r["AllowedOrigins"],
                    **({"AllowedHeaders": r["AllowedHeaders"]} if r.get("AllowedHeaders") else {}),
                    **({"ExposeHeaders": r["ExposedHeaders"]} if r.get("ExposedHeaders") else {}),
                    **({"MaxAgeSeconds": r["MaxAge"]} if r.get("MaxAge") else {}),
                }
                for r in p["CorsConfiguration"]["CorsRules"]
            ]
            s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": rules})
        if p.get("NotificationConfiguration", {}).get("EventBridgeConfiguration", {}).get("EventBridgeEnabled"):
            s3.put_bucket_notification_configuration(
                Bucket=name, NotificationConfiguration={"EventBridgeConfiguration": {}}
            )
        res.physical[lid] = Physical(
            name,
            {
                "Arn": f"arn:aws:s3:::{name}",
                "DomainName": f"{name}.s3.amazonaws.com",
                "RegionalDomainName": f"{name}.s3.{REGION}.amazonaws.com",
                "WebsiteURL": f"{self.endpoint_url}/{name}",
            },
        )
        self.out.buckets[lid] = name

    def bucket_notifications(self, _s: StackTemplate, res: Resolver, lid: str, p: dict[str, Any], _r: Any) -> None:
        # CDK's bucket notifications are a custom resource; apply its configuration directly.
        conf = dict(p.get("NotificationConfiguration", {}))
        if "EventBridgeConfiguration" in conf:
            conf["EventBridgeConfiguration"] = {}
        self.client("s3").put_bucket_notification_configuration(
            Bucket=p["BucketName"], NotificationConfiguration=conf
        )
        res.physical[lid] = Physical(lid)

    def queue(self, stack: StackTemplate, res: Resolver, lid: str, p: dict[str, Any], _r: Any) -> None:
        fifo = bool(p.get("FifoQueue"))
        name = p.get("QueueName") or (_name(stack.name, lid, 75) + (".fifo" if fifo else ""))
        attrs: dict[str, str] = {}
        for key in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds", "ReceiveMessageWaitTimeSeconds",
                    "FifoQueue", "ContentBasedDeduplication", "MaximumMessageSize"):
            if key in p:
                attrs[key] = str(p[key]).lower() if isinstance(p[key], bool) else str(p[key])
        if "RedrivePolicy" in p:
            attrs["RedrivePolicy"] = json.dumps(p["RedrivePolicy"])
        url = self.client("sqs").create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
        res.physical[lid] = Physical(url, {"Arn": arn("sqs", name), "QueueName": name, "QueueUrl": url})
        self.out.queues[lid] = url

    def topic(self, stack: StackTemplate, res: Resolver, lid: str, p: dict[str, Any], _r: Any) -> None:
        name = p.get("TopicName") or _name(stack.name, lid, 256)
        topic_arn = self.client("sns").create_topic(Name=name)["TopicArn"]
        res.physical[lid] = Physical(topic_arn, {"TopicArn": topic_arn, "TopicName": name})

    def subscription(self, _s: StackTemplate, res: Resolver, lid: str, p: dict[str, Any], _r: Any) -> None:
        attrs = {k: json.dumps(v) if isinstance(v, dict) else str(v).lower() if isinstance(v, bool) else str(v)
                 for k, v in p.items() if k in ("FilterPolicy", "RawMessageDelivery", "FilterPolicyScope")}
        sub = self.client("sns").subscribe(
            TopicArn=p["TopicArn"], Protocol=p["Protocol"], Endpoint=p["Endpoint"], Attributes=attrs
        )
        res.physical[lid] = Physical(sub["SubscriptionArn"])

    def event_bus(self, _s: StackTemplate, res: Resolver, lid: str, p: dict[str, Any], _r: Any) -> None:
        bus_arn = self.client("events").create_event_bus(Name=p["Name"])["EventBusArn"]
        res.physical[lid] = Physical(p["Name"], {"Arn": bus_arn, "Name": p["Name"]})
        self.out.event_buses[lid] = p["Name"]

    def rule(self, stack: StackTemplate, res: Resolver, lid: str, p: dict[str, Any], _r: Any) -> None:
        name = p.get("Name") or _name(stack.name, lid, 64)
        bus = p.get("EventBusName") or "default"
        if bus.startswith("arn:"):
            bus = bus.split("/")[-1]
        args: dict[str, Any] = {"Name": name, "State": p.get("State", "ENABLED"), "EventBusName": bus}
        if "EventPattern" in p:
            args["EventPattern"] = json.dumps(p["EventPattern"])
        if "ScheduleExpression" in p:
            args["ScheduleExpression"] = p["ScheduleExpression"]
        rule_arn = self.client("events").put_rule(**args)["RuleArn"]
        targets = []
        for t in p.get("Targets", []):
            target = {k: t[k] for k in ("Id", "Arn", "Input", "InputPath", "RoleArn", "SqsParameters") if k in t}
            if "InputTransformer" in t:
                target["InputTransformer"] = t["InputTransformer"]
            targets.append(target)
        if targets:
            self.client("events").put_targets(Rule=name, EventBusName=bus, Targets=targets)
        if "ScheduleExpression" in p:
            self.out.schedules.append(ScheduleRule(name, p["ScheduleExpression"], targets))
        res.physical[lid] = Physical(name if bus == "default" else f"{bus}|{name}", {"Arn": rule_arn})

    # ---------------------------------------------------------------- identity
    def user_pool(self, stack: StackTemplate, res: Resolver, lid: str, p: dict[str, Any], _r: Any) -> None:
        keep = ("Policies", "AutoVerifiedAttributes", "UsernameAttributes", "AliasAttributes", "Schema",
                "AdminCreateUserConfig", "UsernameConfiguration", "AccountRecoverySetting", "MfaConfiguration")
        args = {k: v for k, v in p.items() if k in keep}
        pool = self.client("cognito-idp").create_user_pool(
            PoolName=p.get("UserPoolName") or _name(stack.name, lid, 128), **args
        )["UserPool"]
        pid = pool["Id"]
        res.physical[lid] = Physical(
            pid,
            {
                "Arn": pool["Arn"],
                "UserPoolId": pid,
                "ProviderName": f"cognito-idp.{REGION}.amazonaws.com/{pid}",
                "ProviderURL": f"https://cognito-idp.{REGION}.amazonaws.com/{pid}",
            },
        )
        self.out.user_pools[lid] = pid

    def user_pool_client(self, stack: StackTemplate, res: Resolver, lid: str, p: dict[str, Any], _r: Any) -> None:
        keep = ("ExplicitAuthFlows", "GenerateSecret", "RefreshTokenValidity", "AccessTokenValidity",
                "IdTokenValidity", "TokenValidityUnits", "PreventUserExistenceErrors", "ReadAttributes",
                "WriteAttributes", "EnableTokenRevocation")
        args = {k: v for k, v in p.items() if k in keep}
        client = self.client("cognito-idp").create_user_pool_client(
            UserPoolId=p["UserPoolId"], ClientName=p.get("ClientName") or _name(stack.name, lid, 128), **args
        )["UserPoolClient"]
        res.physical[lid] = Physical(client["ClientId"], {"ClientSecret": client.get("ClientSecret", "")})
        self.out.user_pool_clients[lid] = client["ClientId"]

    def user_pool_group(self, _s: StackTemplate, res: Resolver, lid: str, p: dict[str, Any], _r: Any) -> None:
        args = {k: p[k] for k in ("Description", "Precedence") if k in p}
        self.client("cognito-idp").create_group(GroupName=p["GroupName"], UserPoolId=p["UserPoolId"], **args)
        res.physical[lid] = Physical(p["GroupName"])

    def role(self, stack: StackTemplate, res: Resolver, lid: str, p: dict[str, Any], _r: Any) -> None:
        name = p.get("RoleName") or _name(stack.name, lid, 64)
        doc = p.get("AssumeRolePolicyDocument")
        role = self.client("iam").create_role(
            RoleName=name, AssumeRolePolicyDocument=json.dumps(doc) if doc else _LOCAL_ROLE_POLICY
        )["Role"]
        res.physical[lid] = Physical(name, {"Arn": role["Arn"], "RoleId": role["RoleId"]})

    # ---------------------------------------------------------------- compute
    def layer(self, stack: StackTemplate, res: Resolver, lid: str, p: dict[str, Any], _r: Any) -> None:
        name = p.get("LayerName") or _name(stack.name, lid, 64)
        layer_arn = arn("lambda", f"layer:{name}:1")
        self._layers[layer_arn] = stack.asset_dir(lid)
        res.physical[lid] = Physical(layer_arn)

    def function(self, stack: StackTemplate, res: Resolver, lid: str, p: dict[str, Any], _r: Any) -> None:
        name = p.get("FunctionName") or _name(stack.name, lid, 64)
        code_dir = stack.asset_dir(lid)
        env = {k: str(v) for k, v in p.get("Environment", {}).get("Variables", {}).items()}
        if "CDN_URL" in env and self.gateway_urls.get("cdn"):
            env["CDN_URL"] = self.gateway_urls["cdn"]  # https://<distribution domain> in AWS; the fleet's front door
        self.client("lambda").create_function(
            FunctionName=name,
            Runtime=p.get("Runtime", "python3.12"),
            Role=p["Role"],
            Handler=p.get("Handler", "index.handler"),
            Code={"ZipFile": _stub_zip()},
            Timeout=int(p.get("Timeout", 3)),
            MemorySize=int(p.get("MemorySize", 128)),
            Environment={"Variables": env},
        )
        fn_arn = arn("lambda", f"function:{name}")
        res.physical[lid] = Physical(name, {"Arn": fn_arn})
        self.out.functions[lid] = name
        if code_dir is None or not str(p.get("Runtime", "")).startswith("python"):
            # Inline or non-Python code (CDK's own custom-resource providers): nothing to run locally.
            log.debug("function %s has no local asset; invocations will fail", lid)
            return
        self.runtime.register(
            FunctionSpec(
                name=name,
                arn=fn_arn,
                handler=p.get("Handler", "index.handler"),
                code_dir=code_dir,
                layer_dirs=[d for a in p.get("Layers", []) if (d := self._layers.get(a)) is not None],
                environment=env,
                timeout_s=int(p.get("Timeout", 3)),
                memory_mb=int(p.get("MemorySize", 128)),
                runtime=p.get("Runtime", "python3.12"),
            )
        )

    def event_source_mapping(self, _s: StackTemplate, res: Resolver, lid: str, p: dict[str, Any], _r: Any) -> None:
        if is_stream_arn(str(p.get("EventSourceArn", ""))):
            # The stream lives in DynamoDB Local, which moto cannot read: local/streams.py delivers it.
            fn = self.runtime.resolve_name(str(p["FunctionName"]))
            self.out.stream_mappings.append(StreamMapping.from_template(p, fn))
            res.physical[lid] = Physical(f"stream-mapping-{lid}")
            return
        if is_kinesis_arn(str(p.get("EventSourceArn", ""))):
            # moto's mappings know SQS and DynamoDB streams only: local/kinesis.py delivers these.
            fn = self.runtime.resolve_name(str(p["FunctionName"]))
            self.out.kinesis_mappings.append(KinesisMapping.from_template(p, fn))
            res.physical[lid] = Physical(f"kinesis-mapping-{lid}")
            return
        args = {k: p[k] for k in ("FunctionName", "EventSourceArn", "BatchSize", "StartingPosition", "Enabled")
                if k in p}
        uuid_ = self.client("lambda").create_event_source_mapping(**args)["UUID"]
        res.physical[lid] = Physical(uuid_)

    def kinesis_stream(self, stack: StackTemplate, res: Resolver, lid: str, p: dict[str, Any], _r: Any) -> None:
        name = p.get("Name") or _name(stack.name, lid, 128)
        kinesis = self.client("kinesis")
        mode = (p.get("StreamModeDetails") or {}).get("StreamMode", "PROVISIONED")
        try:
            if mode == "ON_DEMAND":
                kinesis.create_stream(StreamName=name, StreamModeDetails={"StreamMode": "ON_DEMAND"})
            else:
                kinesis.create_stream(StreamName=name, ShardCount=int(p.get("ShardCount", 1)))
        except kinesis.exceptions.ResourceInUseException:
            pass  # kept from an earlier run
        stream_arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
        res.physical[lid] = Physical(name, {"Arn": stream_arn})
        self.out.kinesis_streams[lid] = name

    def state_machine(self, stack: StackTemplate, res: Resolver, lid: str, p: dict[str, Any], _r: Any) -> None:
        name = p.get("StateMachineName") or _name(stack.name, lid, 80)
        definition = p.get("DefinitionString") or json.dumps(p.get("Definition", {}))
        for key, value in (p.get("DefinitionSubstitutions") or {}).items():
            definition = definition.replace("${" + key + "}", str(value))
        sm_arn = self.client("stepfunctions").create_state_machine(
            name=name, definition=definition, roleArn=p["RoleArn"], type=p.get("StateMachineType", "STANDARD")
        )["stateMachineArn"]
        res.physical[lid] = Physical(sm_arn, {"Arn": sm_arn, "Name": name})
        self.out.state_machines[lid] = sm_arn

    # ---------------------------------------------------------------- HTTP API
    def http_api(self, _s: StackTemplate, res: Resolver, lid: str, p: dict[str, Any], _r: Any) -> None:
        api_id = re.sub(r"[^a-z0-9]", "", lid.lower())[:10]
        res.physical[lid] = Physical(api_id, {"ApiEndpoint": self.gateway_urls["api"], "ApiId": api_id})
        if p.get("CorsConfiguration"):
            self.out.http_cors[api_id] = CorsConfig.from_template(p["CorsConfiguration"])

    def http_integration(self, _s: StackTemplate, res: Resolver, lid: str, p: dict[str, Any], _r: Any) -> None:
        res.physical[lid] = Physical(lid)
        self._pending_api.append(("integration", lid, p))

    def http_authorizer(self, _s: StackTemplate, res: Resolver, lid: str, p: dict[str, Any], _r: Any) -> None:
        res.physical[lid] = Physical(lid, {"AuthorizerId": lid})
        self._pending_api.append(("authorizer", lid, p))

    def http_route(self, _s: StackTemplate, res: Resolver, lid: str, p: dict[str, Any], _r: Any) -> None:
        res.physical[lid] = Physical(lid)
        self._pending_api.append(("route", lid, p))

    def _finish_http_api(self, _res: Resolver) -> None:
        integrations = {lid: p for kind, lid, p in self._pending_api if kind == "integration"}
        authorizers = {lid: p for kind, lid, p in self._pending_api if kind == "authorizer"}
        for kind, _lid, p in self._pending_api:
            if kind != "route":
                continue
            integ = integrations.get(str(p.get("Target", "")).removeprefix("integrations/"))
            if integ is None:
                continue
            fn_arn = str(integ.get("IntegrationUri", ""))
            fn_arn = fn_arn.split("/functions/")[1].split("/invocations")[0] if "/functions/" in fn_arn else fn_arn
            auth: JwtAuthorizer | None = None
            if p.get("AuthorizationType") == "JWT":
                jwt_conf = authorizers[p["AuthorizerId"]]["JwtConfiguration"]
                auth = JwtAuthorizer(jwt_conf["Issuer"], tuple(jwt_conf.get("Audience", [])),
                                     tuple(p.get("AuthorizationScopes", [])))
            self.out.http_routes.append(HttpRoute(p["ApiId"], p["RouteKey"], fn_arn, auth))
        self._pending_api.clear()

    # ---------------------------------------------------------------- search
    def search_domain(self, stack: StackTemplate, res: Resolver, lid: str, p: dict[str, Any], _r: Any) -> None:
        # The local engine (local.search_engine) stands in for the domain: its URL is the endpoint the
        # functions get (a URL with http://, so the client does not sign). No engine -> "": search
        # answers 503 SEARCH_UNAVAILABLE, as with a domain that is down.
        name = p.get("DomainName") or _name(stack.name, lid, 28, lower=True)
        url = self.service_endpoints.get("opensearch", "")
        domain_arn = arn("es", f"domain/{name}")
        res.physical[lid] = Physical(name, {"DomainEndpoint": url, "Arn": domain_arn, "DomainArn": domain_arn})

    # ---------------------------------------------------------------- CloudFront
    def cloudfront(self, _s: StackTemplate, res: Resolver, lid: str, p: dict[str, Any], r: Any) -> None:
        # The local edge fleet (local/cdn) stands in for the distribution.
        self.out.cdn.front_door = self.gateway_urls.get("cdn", "")
        res.physical[lid] = self.out.cdn.resolve(lid, r["Type"], p)

    # ---------------------------------------------------------------- ALB
    def alb(self, _s: StackTemplate, res: Resolver, lid: str, p: dict[str, Any], _r: Any) -> None:
        host = self.gateway_urls["alb"].split("://", 1)[1]
        res.physical[lid] = Physical(
            arn("elasticloadbalancing", f"loadbalancer/app/{lid}/local"),
            {"DNSName": host, "LoadBalancerFullName": f"app/{lid}/local", "CanonicalHostedZoneID": "local"},
        )

    def alb_listener(self, _s: StackTemplate, res: Resolver, lid: str, p: dict[str, Any], _r: Any) -> None:
        res.physical[lid] = Physical(arn("elasticloadbalancing", f"listener/app/{lid}/local"))
        for action in p.get("DefaultActions", []):
            if action.get("Type") == "fixed-response":
                self.out.alb_rules.append(
                    AlbRule(DEFAULT_ACTION_PRIORITY, fixed_response=action["FixedResponseConfig"]))

    def target_group(self, _s: StackTemplate, res: Resolver, lid: str, p: dict[str, Any], _r: Any) -> None:
        tg_arn = arn("elasticloadbalancing", f"targetgroup/{lid}/local")
        res.physical[lid] = Physical(tg_arn, {"TargetGroupArn": tg_arn, "TargetGroupName": lid})
        attrs = {a["Key"]: a["Value"] for a in p.get("TargetGroupAttributes", [])}
        self._target_groups[tg_arn] = {
            "function": next((t["Id"] for t in p.get("Targets", [])), None),
            "multi": str(attrs.get("lambda.multi_value_headers.enabled", "false")).lower() == "true",
        }

    def alb_rule(self, _s: StackTemplate, res: Resolver, lid: str, p: dict[str, Any], _r: Any) -> None:
        res.physical[lid] = Physical(arn("elasticloadbalancing", f"listener-rule/app/{lid}/local"))
        groups = self._target_groups
        for action in p.get("Actions", []):
            if action.get("Type") == "forward":
                tg = groups.get(action.get("TargetGroupArn", ""), {})
                self.out.alb_rules.append(
                    AlbRule(int(p["Priority"]), p.get("Conditions", []), tg.get("function"),
                            multi_value_headers=bool(tg.get("multi")))
                )
            elif action.get("Type") == "fixed-response":
                self.out.alb_rules.append(
                    AlbRule(int(p["Priority"]), p.get("Conditions", []), fixed_response=action["FixedResponseConfig"])
                )
