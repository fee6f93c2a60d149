"""CloudFormation intrinsic functions, resolved against what the local cloud provisioned."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

REGION = "us-east-1"
ACCOUNT = "123456789012"
PARTITION = "aws"


@dataclass
class Physical:
    """What a provisioned resource answers to `Ref` and `Fn::GetAtt`."""

    ref: str
    attrs: dict[str, str] = field(default_factory=dict)


class Unresolvable(ValueError):
    pass


# Stands for a reference to a resource the local cloud does not emulate. A property value that
# contains it (e.g. "dax://" + <DAX endpoint> + ":9111") becomes "" as a whole: the code then sees
# "not configured" rather than a half-built endpoint.
UNSUPPORTED = "\x00unsupported\x00"


def scrub(value: Any) -> Any:
    if isinstance(value, str):
        return "" if UNSUPPORTED in value else value
    if isinstance(value, list):
        return [scrub(v) for v in value]
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items()}
    return value


@dataclass
class Resolver:
    stack_name: str
    template: dict[str, Any]
    physical: dict[str, Physical] = field(default_factory=dict)
    exports: dict[str, Any] = field(default_factory=dict)
    # Resources the local cloud does not emulate (DAX, OpenSearch, CloudFront, ...): Ref/GetAtt on
    # them resolve to UNSUPPORTED, scrubbed to "" so code takes its plain path (DynamoDB, not DAX).
    unsupported: set[str] = field(default_factory=set)

    def pseudo(self, name: str) -> str:
        return {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": self.stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{self.stack_name}/local",
            "AWS::NoValue": "",
        }[name]

    def ref(self, name: str) -> Any:
        if name.startswith("AWS::"):
            return self.pseudo(name)
        if name in self.physical:
            return self.physical[name].ref
        params = self.template.get("Parameters", {})
        if name in params:
            return params[name].get("Default", "")
        if name in self.unsupported:
            return UNSUPPORTED
        raise Unresolvable(f"Ref {name} (not provisioned yet)")

    def getatt(self, name: str, attr: str) -> Any:
        if name in self.physical:
            phys = self.physical[name]
            if attr in phys.attrs:
                return phys.attrs[attr]
            raise Unresolvable(f"GetAtt {name}.{attr}")
        if name in self.unsupported:
            return UNSUPPORTED
        raise Unresolvable(f"GetAtt {name}.{attr} (not provisioned yet)")

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template.get("Conditions", {})[name]))

    def resolve(self, value: Any) -> Any:  # noqa: C901 — one branch per intrinsic
        if isinstance(value, list):
            return [self.resolve(v) for v in value if not _is_novalue(v)]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                name, attr = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.getatt(name, attr)
            if key == "Fn::Join":
                sep, parts = arg
                return sep.join(str(p) for p in self.resolve(parts))
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::Select":
                idx, items = arg
                items = self.resolve(items)
                return UNSUPPORTED if items == UNSUPPORTED else items[int(self.resolve(idx))]
            if key == "Fn::Split":
                sep, src = arg
                return str(self.resolve(src)).split(sep)
            if key == "Fn::ImportValue":
                export = self.resolve(arg)
                if export not in self.exports:
                    raise Unresolvable(f"ImportValue {export}")
                return self.exports[export]
            if key == "Fn::If":
                cond, yes, no = arg
                return self.resolve(yes if self.condition(cond) else no)
            if key == "Fn::Equals":
                a, b = self.resolve(arg)
                return a == b
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::And":
                return all(self.resolve(a) for a in arg)
            if key == "Fn::Or":
                return any(self.resolve(a) for a in arg)
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::GetAZs":
                return [f"{REGION}a", f"{REGION}b"]
            if key == "Fn::Base64":
                import base64

                return base64.b64encode(str(self.resolve(arg)).encode()).decode()
        return {k: self.resolve(v) for k, v in value.items() if not _is_novalue(v)}

    def _sub(self, arg: Any) -> str:
        if isinstance(arg, list):
            text, variables = arg[0], {k: self.resolve(v) for k, v in arg[1].items()}
        else:
            text, variables = arg, {}

        def repl(m: re.Match[str]) -> str:
            name = m.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                res, attr = name.split(".", 1)
                return str(self.getatt(res, attr))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}]+)\}", repl, text)

    def try_resolve(self, value: Any) -> tuple[bool, Any]:
        try:
            return True, self.resolve(value)
        except Unresolvable:
            return False, None


def _is_novalue(v: Any) -> bool:
    return isinstance(v, dict) and v == {"Ref": "AWS::NoValue"}


def arn(service: str, resource: str, region: str = REGION) -> str:
    return f"arn:{PARTITION}:{service}:{region}:{ACCOUNT}:{resource}"
