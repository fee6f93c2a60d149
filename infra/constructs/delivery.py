"""Delivery: the CDN in front of the media bucket (CloudFront as Reelstack's Open Connect) and the
prefill that pushes a newly published title towards it.

What a viewer can reach: ``https://<distribution>/titles/...`` only, and only with a grant signed by
the key in the key group (``reelstack_common.cdn_signing``: signed cookies or a signed URL with a
custom policy). Everything else answers 403 at the edge:

* default behaviour (any path not under ``titles/``, e.g. ``work/`` chunks): a CloudFront Function
  answers 403 at viewer request, so such requests never reach the origin and nothing under them is
  ever cached. A function rather than an origin that answers 403: no origin to run or pay for, and
  the answer does not depend on what the bucket holds.
* the bucket policy lets CloudFront (this distribution, through Origin Access Control) read objects,
  and explicitly denies it everything outside ``titles/`` -- a second, independent line should a
  behaviour ever be added by mistake. Public access stays blocked (house bucket).

Caching: playlists (``*.m3u8``) a few seconds (they change when a title is re-published), init and
media segments a year (immutable, deterministic names). No cookie, header or query string is part of
the cache key: the signing parameters are checked by CloudFront and then dropped, so every viewer
shares one cached copy. Origin Shield collapses concurrent misses from all edge locations into one
origin fetch.

The signing keys: their public halves reach synth as context (written by ``python -m infra.cdn_keys``,
which stores the private halves in Secrets Manager as ``reelstack/cdn-signing-key``; ``--synth-only``
writes a throwaway public key for template work without AWS): ``reelstack:cdnPublicKeyPem`` signs,
``reelstack:cdnNextPublicKeyPem`` (rotation phase 1) and ``reelstack:cdnRetiringPublicKeyPem`` (phase 2)
are only trusted. Each key present is one CloudFront PublicKey and the key group holds them all
(sorted by fingerprint, so promoting a key leaves the key group untouched); the signing functions'
environment names the signing key only. A key's construct id is ``PublicKey-<fingerprint>``, so its
logical id -- and its CloudFront id, the ``Key-Pair-Id`` of every grant it signs -- stays the same
while it goes from next to signing to retiring (a changed logical id would replace the PublicKey and
kill its grants). The one exception keeps the construct id it had before rotation with overlap
existed, ``PublicKey``: the key named by ``reelstack:cdnLegacyKeyFingerprint``, or the signing key
when that entry is absent (contexts written before it existed, tests, the local cloud), so the first
deploy of this code replaces no key. Without a signing key the construct records an ERROR annotation
naming the command (``cdk synth``/``cdk deploy`` stop there) and puts a placeholder in the template so
in-process synths that tolerate findings (tests, the local cloud) still produce a template; a
placeholder key cannot verify any grant, and CloudFormation rejects it, so it can never be deployed by
accident.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Annotations, Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.cdn_keys import (
    LEGACY_KEY_CONTEXT,
    NEXT_PUBLIC_KEY_CONTEXT,
    PUBLIC_KEY_CONTEXT,
    RETIRING_PUBLIC_KEY_CONTEXT,
    SIGNING_KEY_SECRET_NAME,
    ContextKeys,
    key_fingerprint,
    read_keys,
)
from infra.constructs.data import CatalogData
from infra.constructs.events import PlatformEvents
from infra.constructs.home import TRENDING_PARTITION, leading_keys
from infra.constructs.house import dead_letter_queue, house_bucket, house_table
from infra.constructs.layers import REPO_ROOT
from infra.constructs.nag import acknowledge
from infra.constructs.service import service_function

PLAYER_ORIGINS_CONTEXT = "reelstack:playerOrigins"  # comma-separated web player origins (CORS)
# The environment reelstack_common.cdn_signing.CdnSigner.from_environment reads (infra cannot import
# the shared layer; tests/infra/test_delivery.py checks the names agree).
ENV_CDN_URL = "CDN_URL"
ENV_KEY_PAIR_ID = "CDN_KEY_PAIR_ID"
ENV_SECRET = "CDN_SIGNING_KEY_SECRET"
ENV_SECRET_STAGE = "CDN_SIGNING_KEY_STAGE"
TITLES_PREFIX = "titles/"
PLACEHOLDER_PUBLIC_KEY = (
    "-----BEGIN PUBLIC KEY-----\nMISSING-run-python-m-infra.cdn_keys\n-----END PUBLIC KEY-----\n"
)
MISSING_KEY_MESSAGE = (
    f"CDK context {PUBLIC_KEY_CONTEXT} is not set: run `python -m infra.cdn_keys` (creates the CDN signing "
    f"key pair, stores the private key in Secrets Manager as {SIGNING_KEY_SECRET_NAME} and writes the public "
    "key to cdk.context.json) before synthesizing for a deploy."
)

# Cache lifetimes. Playlists: short, so a re-published title's playlists reach viewers within
# seconds; segments: immutable names, so as long as CloudFront allows.
MANIFEST_TTL = Duration.seconds(5)
MANIFEST_MAX_TTL = Duration.seconds(10)
SEGMENT_TTL = Duration.days(365)
SEGMENT_MIN_TTL = Duration.days(1)

# Prefill: the first five minutes (the client's buffer) of every rendition.
PREFILL_SECONDS = 300
PREFILL_TIMEOUT = Duration.minutes(5)
PREFILL_MAX_RECEIVES = 5
DELIVERY_CODE_DIR = REPO_ROOT / "functions" / "delivery"
# Withdrawal purge: one CreateInvalidation per withdrawn title; CloudFront allows 15 wildcard paths
# in progress at once, so a burst of withdrawals is throttled and retried through the queue: each
# throttled record comes back after a growing delay (delivery.logic.withdraw.throttled_delay_s), so
# 20 receives span >= 7 h before the DLQ. At most PURGE_CONCURRENCY (2, SQS's least) invocations
# at once: a burst cannot keep CloudFront's limit full with retries.
PURGE_TIMEOUT = Duration.seconds(30)
PURGE_MAX_RECEIVES = 20
PURGE_CONCURRENCY = 2
PURGE_BATCH_SIZE = 10
# Off-peak fill (Open Connect's nightly fill): whole popular titles, hourly runs over the night's
# quiet hours (UTC), each resuming the day's fill; the budget is what it may push per day (x copies).
OFFPEAK_SCHEDULE = "cron(0 3-5 * * ? *)"
OFFPEAK_TIMEOUT = Duration.minutes(15)
OFFPEAK_BUDGET_BYTES = 200 * 10**9

# CloudFront Functions runtime 2.0; answers every request of the default behaviour.
_DENY_FUNCTION = """function handler(event) {
  return { statusCode: 403, statusDescription: 'Forbidden',
           headers: { 'cache-control': { value: 'no-store' } } };
}"""


LEGACY_KEY_ID = "PublicKey"  # the construct id of the one key deployed before keys rotated with overlap


def _pem(value: object) -> str | None:
    """A context value as the template's EncodedKey (stripped + one newline: the same bytes every
    synth, since a changed EncodedKey replaces the PublicKey); None for absent or empty."""
    if value is None or not str(value).strip():
        return None
    return str(value).strip() + "\n"


def keys_from_context(scope: Construct) -> ContextKeys:
    """The keys from context; when the signing key is absent, all of them from ``cdk.context.json``
    (the CDK CLI merges that file itself, ``python app.py`` -- ``make synth`` -- does not). A context
    that sets the signing key (tests, the local cloud) gets no next or retiring key from the file. An
    empty value means "no key" without the fallback."""
    if scope.node.try_get_context(PUBLIC_KEY_CONTEXT) is None:
        keys = read_keys()
        return ContextKeys(
            current=_pem(keys.current), next=_pem(keys.next), retiring=_pem(keys.retiring), legacy=keys.legacy
        )
    legacy = scope.node.try_get_context(LEGACY_KEY_CONTEXT)
    return ContextKeys(
        current=_pem(scope.node.try_get_context(PUBLIC_KEY_CONTEXT)),
        next=_pem(scope.node.try_get_context(NEXT_PUBLIC_KEY_CONTEXT)),
        retiring=_pem(scope.node.try_get_context(RETIRING_PUBLIC_KEY_CONTEXT)),
        legacy=None if legacy is None else str(legacy),
    )


def public_key_from_context(scope: Construct) -> str | None:
    """The signing key (see keys_from_context)."""
    return keys_from_context(scope).current


def player_origins_from_context(scope: Construct) -> list[str]:
    value = scope.node.try_get_context(PLAYER_ORIGINS_CONTEXT)
    if not value:
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    return [str(item).strip() for item in items if str(item).strip()]


class Delivery(Construct):
    """Attributes other code uses:

    distribution: cloudfront.Distribution (``domain_name``; ``cdn_url`` = ``https://<domain>``)
    public_key / key_group: the signing key's CloudFront PublicKey (its id is CDN_KEY_PAIR_ID) and the
        KeyGroup, which trusts every key in ``trusted_keys`` (fingerprint -> PublicKey: the signing key,
        and during a rotation the next or retiring key; ``next_public_key`` / ``retiring_public_key``)
    manifest_cache_policy / segment_cache_policy / response_headers_policy
    log_bucket: CloudFront standard logs
    grant_signing(fn): env CDN_URL, CDN_KEY_PAIR_ID, CDN_SIGNING_KEY_SECRET, CDN_SIGNING_KEY_STAGE and
        secretsmanager:GetSecretValue on the signing-key secret only
    prefill_function / prefill_queue / prefill_dead_letter_queue / prefill_rule / prefill_table
    purge_function / purge_queue / purge_dead_letter_queue / purge_rule: TitleWithdrawn -> a
        CloudFront invalidation of /titles/{id}/* (cloudfront:CreateInvalidation on this
        distribution only)
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        media_bucket: s3.IBucket,
        events_bus: PlatformEvents,
        layers: Sequence[lambda_.ILayerVersion],
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        price_class: cloudfront.PriceClass = cloudfront.PriceClass.PRICE_CLASS_100,
        prefill_seconds: int = PREFILL_SECONDS,
        log_level: str = "INFO",
        app_behavior: cloudfront.BehaviorOptions | None = None,  # the web app (issue 16) instead of the 403
    ) -> None:
        super().__init__(scope, construct_id)
        self.app_behavior = app_behavior
        self._create_keys(keys_from_context(self))
        self._create_policies()
        self.log_bucket = self._create_log_bucket(removal_policy)
        self.distribution = self._create_distribution(media_bucket, price_class)
        self._restrict_bucket_to_titles(media_bucket)

        self._create_prefill(events_bus, layers, prefill_seconds, log_level, removal_policy)
        self._create_withdrawal_purge(events_bus, layers, log_level)

    # --- the keys ------------------------------------------------------------------------------

    def _create_keys(self, keys: ContextKeys) -> None:
        pem = keys.current
        if pem is None:
            Annotations.of(self).add_error(MISSING_KEY_MESSAGE)
        self.public_key_pem = pem or PLACEHOLDER_PUBLIC_KEY
        self.signing_key_stage = key_fingerprint(pem.encode()) if pem else None
        legacy = keys.legacy_fingerprint()
        self.trusted_keys: dict[str, cloudfront.PublicKey] = {}
        by_role: dict[str, cloudfront.PublicKey] = {}
        for role, role_pem in (("current", self.public_key_pem), ("next", keys.next), ("retiring", keys.retiring)):
            if role_pem is None:
                continue
            fingerprint = self.signing_key_stage if role == "current" else key_fingerprint(role_pem.encode())
            if fingerprint in self.trusted_keys:  # the same key twice: one PublicKey
                by_role[role] = self.trusted_keys[fingerprint]
                continue
            legacy_id = fingerprint is None or fingerprint == legacy  # the placeholder too: no key to keep
            if legacy_id and not self.node.try_find_child(LEGACY_KEY_ID):
                construct_id = LEGACY_KEY_ID
            else:
                construct_id = f"PublicKey-{fingerprint or 'placeholder'}"
            key = cloudfront.PublicKey(
                self,
                construct_id,
                encoded_key=role_pem,
                comment="Reelstack CDN grants (private half: Secrets Manager reelstack/cdn-signing-key)",
            )
            by_role[role] = key
            if fingerprint is not None:  # a placeholder joins the key group only alone (a group needs a key)
                self.trusted_keys[fingerprint] = key
        self.public_key = by_role["current"]
        self.next_public_key = by_role.get("next")
        self.retiring_public_key = by_role.get("retiring")
        self.key_group = cloudfront.KeyGroup(
            self,
            "KeyGroup",
            # By fingerprint, not role: promoting a key changes the roles, not the key group.
            items=[self.trusted_keys[f] for f in sorted(self.trusted_keys)] or [self.public_key],
            comment="Keys whose signed cookies/URLs may read titles/",
        )

    # --- the distribution ----------------------------------------------------------------------

    @property
    def cdn_url(self) -> str:
        return f"https://{self.distribution.distribution_domain_name}"

    def _create_policies(self) -> None:
        # The signing parameters (query or cookies) and viewer headers are not part of the key: one
        # cached copy serves every viewer.
        no_cookies = cloudfront.CacheCookieBehavior.none()
        no_headers = cloudfront.CacheHeaderBehavior.none()
        no_query = cloudfront.CacheQueryStringBehavior.none()
        self.manifest_cache_policy = cloudfront.CachePolicy(
            self,
            "ManifestCachePolicy",
            comment="HLS playlists: seconds (they change when a title is re-published)",
            default_ttl=MANIFEST_TTL,
            min_ttl=Duration.seconds(0),
            max_ttl=MANIFEST_MAX_TTL,
            enable_accept_encoding_gzip=True,
            enable_accept_encoding_brotli=True,
            cookie_behavior=no_cookies,
            header_behavior=no_headers,
            query_string_behavior=no_query,
        )
        self.segment_cache_policy = cloudfront.CachePolicy(
            self,
            "SegmentCachePolicy",
            comment="CMAF init and media segments: immutable names, cached for a year",
            default_ttl=SEGMENT_TTL,
            min_ttl=SEGMENT_MIN_TTL,
            max_ttl=SEGMENT_TTL,
            # Video is already compressed; compressing it again only costs CPU.
            enable_accept_encoding_gzip=False,
            enable_accept_encoding_brotli=False,
            cookie_behavior=no_cookies,
            header_behavior=no_headers,
            query_string_behavior=no_query,
        )
        origins_allowed = player_origins_from_context(self)
        self.response_headers_policy = cloudfront.ResponseHeadersPolicy(
            self,
            "PlayerHeaders",
            comment="CORS for the web player (hls.js fetches playlists and segments by XHR/fetch)",
            cors_behavior=cloudfront.ResponseHeadersCorsBehavior(
                # Credentials (the signed cookies) are only allowed with named origins; with "*" the
                # player uses the signed-URL form (no cookies sent cross-site).
                access_control_allow_credentials=bool(origins_allowed),
                access_control_allow_headers=["Range", "Content-Type"],
                access_control_allow_methods=["GET", "HEAD", "OPTIONS"],
                access_control_allow_origins=origins_allowed or ["*"],
                access_control_expose_headers=["Content-Length", "Content-Range", "ETag", "Age", "X-Cache"],
                access_control_max_age=Duration.minutes(10),
                origin_override=True,
            ),
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.days(365), include_subdomains=True, override=True
                ),
            ),
        )

    def _create_log_bucket(self, removal_policy: RemovalPolicy) -> s3.Bucket:
        # CloudFront standard logging writes with an ACL grant to its log-delivery account, so this
        # bucket keeps ACLs enabled (BucketOwnerPreferred); the house defaults still block public
        # ACLs and require TLS.
        bucket = house_bucket(
            self,
            "Logs",
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[s3.LifecycleRule(id="expire-cdn-logs", expiration=Duration.days(90))],
            removal_policy=removal_policy,
        )
        acknowledge(
            bucket,
            "AwsSolutions-S1",
            "This bucket is the CloudFront access-log destination; logging its own access would recurse.",
        )
        return bucket

    def _create_distribution(
        self, media_bucket: s3.IBucket, price_class: cloudfront.PriceClass
    ) -> cloudfront.Distribution:
        origin = origins.S3BucketOrigin.with_origin_access_control(
            media_bucket,
            origin_access_levels=[cloudfront.AccessLevel.READ],
            # One regional cache in front of S3: concurrent misses from every edge location become
            # one origin fetch, and prefill warms it for all of them. The stack's own region (the
            # bucket's) is where Origin Shield sits closest to the origin.
            origin_shield_enabled=True,
            origin_shield_region=Stack.of(self).region,
        )
        deny_function = cloudfront.Function(
            self,
            "DenyOutsideTitles",
            code=cloudfront.FunctionCode.from_inline(_DENY_FUNCTION),
            runtime=cloudfront.FunctionRuntime.JS_2_0,
            comment="403 for any path outside titles/ (work/ chunks and the rest of the bucket)",
        )

        def titles(cache_policy: cloudfront.ICachePolicy) -> cloudfront.BehaviorOptions:
            return cloudfront.BehaviorOptions(
                origin=origin,
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD_OPTIONS,
                cached_methods=cloudfront.CachedMethods.CACHE_GET_HEAD_OPTIONS,
                cache_policy=cache_policy,
                response_headers_policy=self.response_headers_policy,
                trusted_key_groups=[self.key_group],
                compress=cache_policy is self.manifest_cache_policy,
            )

        distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="Reelstack: signed media under titles/, the web app as the default behaviour",
            default_behavior=self.app_behavior or cloudfront.BehaviorOptions(
                origin=origin,
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                trusted_key_groups=[self.key_group],
                function_associations=[
                    cloudfront.FunctionAssociation(
                        function=deny_function, event_type=cloudfront.FunctionEventType.VIEWER_REQUEST
                    )
                ],
            ),
            # Order matters: CloudFront takes the first pattern that matches.
            additional_behaviors={
                f"{TITLES_PREFIX}*.m3u8": titles(self.manifest_cache_policy),
                f"{TITLES_PREFIX}*": titles(self.segment_cache_policy),
            },
            default_root_object="index.html" if self.app_behavior else None,
            price_class=price_class,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            enable_logging=True,
            log_bucket=self.log_bucket,
            log_file_prefix="cloudfront/",
            # Cookies hold the signed grants: they stay out of the logs.
            log_includes_cookies=False,
        )
        acknowledge(
            distribution,
            "AwsSolutions-CFR1",
            "No distribution-wide geo restriction: licensing territories are per title and are enforced "
            "when playback hands out a grant; a country block here would hide every title at once.",
        )
        acknowledge(
            distribution,
            "AwsSolutions-CFR2",
            "No WAF web ACL: every media byte requires a signed, expiring grant checked by CloudFront itself, "
            "the default behaviour serves only the web app's static files (or answers 403 when no app is "
            "deployed) and never reaches the media origin, and a CloudFront web ACL must live "
            "in us-east-1 (this stack is region-agnostic). Attach one by ARN when a deployment needs rate rules.",
        )
        acknowledge(
            distribution,
            "AwsSolutions-CFR4",
            "The distribution uses the default *.cloudfront.net certificate, whose TLS policy CloudFront "
            "fixes; viewers are redirected to HTTPS. A custom domain with an ACM certificate (then "
            "TLSv1.2_2021) is a per-deployment choice.",
        )
        return distribution

    def _restrict_bucket_to_titles(self, media_bucket: s3.IBucket) -> None:
        """The OAC statement (added by S3BucketOrigin) allows GetObject on the whole bucket; this
        denies the same principal everything outside ``titles/``."""
        media_bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudFrontReadsTitlesOnly",
                effect=iam.Effect.DENY,
                principals=[iam.ServicePrincipal("cloudfront.amazonaws.com")],
                actions=["s3:GetObject"],
                not_resources=[media_bucket.arn_for_objects(f"{TITLES_PREFIX}*")],
                conditions={"StringEquals": {"AWS:SourceArn": self.distribution_arn}},
            )
        )

    @property
    def distribution_arn(self) -> str:
        return (
            f"arn:{Aws.PARTITION}:cloudfront::{Aws.ACCOUNT_ID}:distribution/{self.distribution.distribution_id}"
        )

    # --- signing -------------------------------------------------------------------------------

    @property
    def signing_environment(self) -> dict[str, str]:
        env = {
            ENV_CDN_URL: self.cdn_url,
            ENV_KEY_PAIR_ID: self.public_key.public_key_id,
            ENV_SECRET: SIGNING_KEY_SECRET_NAME,
        }
        if self.signing_key_stage:
            env[ENV_SECRET_STAGE] = self.signing_key_stage
        return env

    @property
    def signing_secret_arn_pattern(self) -> str:
        # Secrets Manager appends "-" and six random characters to a secret's name in its ARN; the
        # secret is created outside the template (infra.cdn_keys), so it is granted by name.
        return (
            f"arn:{Aws.PARTITION}:secretsmanager:{Aws.REGION}:{Aws.ACCOUNT_ID}:secret:"
            f"{SIGNING_KEY_SECRET_NAME}-??????"
        )

    def grant_signing(self, fn: lambda_.Function) -> None:
        """Let ``fn`` sign grants: the environment CdnSigner.from_environment reads, and read access
        to the signing-key secret (nothing else in Secrets Manager)."""
        for name, value in self.signing_environment.items():
            fn.add_environment(name, value)
        fn.add_to_role_policy(
            iam.PolicyStatement(
                actions=["secretsmanager:GetSecretValue"],
                resources=[self.signing_secret_arn_pattern],
            )
        )

    # --- prefill -------------------------------------------------------------------------------

    def _create_prefill(
        self,
        events_bus: PlatformEvents,
        layers: Sequence[lambda_.ILayerVersion],
        prefill_seconds: int,
        log_level: str,
        removal_policy: RemovalPolicy,
    ) -> None:
        # One item per title: the highest version filled (or being filled, under a lease).
        self.prefill_table = house_table(
            self,
            "PrefillTable",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            # Bookkeeping only: losing it means at most one more prefill per title.
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.prefill_queue, self.prefill_dead_letter_queue = self._work_queue(
            "PrefillQueue",
            "PrefillDlq",
            timeout=PREFILL_TIMEOUT,
            max_receives=PREFILL_MAX_RECEIVES,
            holds="the prefill",
        )
        self.prefill_function = service_function(
            self,
            "PrefillFunction",
            name="delivery",
            code_dir=str(DELIVERY_CODE_DIR),
            handler="delivery.handlers.prefill.lambda_handler",
            environment={
                "PREFILL_TABLE": self.prefill_table.table_name,
                "PREFILL_SECONDS": str(prefill_seconds),
                "PREFILL_LEASE_S": str(int(PREFILL_TIMEOUT.to_seconds()) + 60),
            },
            layers=layers,
            memory_size=512,
            timeout=PREFILL_TIMEOUT,
            log_level=log_level,
            description="Reelstack delivery: prefill the CDN when a title is published",
        )
        self.grant_signing(self.prefill_function)
        # Exactly the ledger calls the data-access layer makes.
        self.prefill_function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:UpdateItem"],
                resources=[self.prefill_table.table_arn],
            )
        )
        self.prefill_function.add_event_source(
            event_sources.SqsEventSource(
                self.prefill_queue,
                batch_size=1,  # one title per invocation: a fill takes minutes
                report_batch_item_failures=True,
            )
        )
        self.prefill_rule = events_bus.subscribe(
            "PrefillOnPublish",
            description="TitlePublished -> prefill queue (pre-position the first minutes on the CDN)",
            sources=["reelstack.catalog"],
            detail_types=["TitlePublished"],
            targets=[targets.SqsQueue(self.prefill_queue, dead_letter_queue=self.prefill_dead_letter_queue)],
        )

    def _work_queue(
        self, queue_id: str, dlq_id: str, *, timeout: Duration, max_receives: int, holds: str
    ) -> tuple[sqs.Queue, sqs.Queue]:
        """An event rule's queue in front of a function (``timeout``: the function's), and its
        dead-letter queue after ``max_receives`` receives."""
        dead_letters = dead_letter_queue(self, dlq_id, holds=f"{holds} queue's.")
        queue = sqs.Queue(
            self,
            queue_id,
            # AWS's guidance for Lambda sources: at least six times the function's timeout.
            visibility_timeout=Duration.seconds(timeout.to_seconds() * 6),
            retention_period=Duration.days(4),
            enforce_ssl=True,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            dead_letter_queue=sqs.DeadLetterQueue(queue=dead_letters, max_receive_count=max_receives),
        )
        return queue, dead_letters

    # --- withdrawal purge ----------------------------------------------------------------------

    def _create_withdrawal_purge(
        self, events_bus: PlatformEvents, layers: Sequence[lambda_.ILayerVersion], log_level: str
    ) -> None:
        """A withdrawn title's media is cached for up to a year (segments) at every edge location:
        on ``TitleWithdrawn`` the function invalidates ``/titles/{id}/*`` (delivery.handlers.withdraw;
        the local cloud purges its edge fleet instead)."""
        self.purge_queue, self.purge_dead_letter_queue = self._work_queue(
            "PurgeQueue",
            "PurgeDlq",
            timeout=PURGE_TIMEOUT,
            max_receives=PURGE_MAX_RECEIVES,
            holds="the withdrawal purge",
        )
        self.purge_function = service_function(
            self,
            "PurgeFunction",
            name="delivery",
            code_dir=str(DELIVERY_CODE_DIR),
            handler="delivery.handlers.withdraw.lambda_handler",
            environment={
                "DISTRIBUTION_ID": self.distribution.distribution_id,
                "PREFILL_TABLE": self.prefill_table.table_name,
                # Its own queue: the delayed second purge after any fill in flight is over.
                "PURGE_QUEUE_URL": self.purge_queue.queue_url,
                # The signing environment only, no secret access: the local cloud (which has no
                # CloudFront API) purges its edge fleet with a grant signed by this key; in AWS the
                # function only calls CloudFront.
                **self.signing_environment,
            },
            layers=layers,
            memory_size=256,
            timeout=PURGE_TIMEOUT,
            log_level=log_level,
            description="Reelstack delivery: invalidate a withdrawn title's media on the CDN",
        )
        # Exactly its calls: one invalidation on this distribution; the ledger item (marked withdrawn,
        # so no prefill of an older version fills the title again).
        self.purge_function.add_to_role_policy(
            iam.PolicyStatement(actions=["cloudfront:CreateInvalidation"], resources=[self.distribution_arn])
        )
        self.purge_function.add_to_role_policy(
            iam.PolicyStatement(actions=["dynamodb:UpdateItem"], resources=[self.prefill_table.table_arn])
        )
        # The delayed second purge is a message to its own queue (SendMessage only: not grant_send_messages,
        # which adds GetQueueAttributes/GetQueueUrl the function does not call for it).
        self.purge_function.add_to_role_policy(
            iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[self.purge_queue.queue_arn])
        )
        self.purge_function.add_event_source(
            event_sources.SqsEventSource(
                self.purge_queue,
                batch_size=PURGE_BATCH_SIZE,
                max_concurrency=PURGE_CONCURRENCY,
                report_batch_item_failures=True,
            )
        )
        self.purge_rule = events_bus.subscribe(
            "PurgeOnWithdraw",
            description="TitleWithdrawn -> purge queue (invalidate the title's media on the CDN)",
            sources=["reelstack.catalog"],
            detail_types=["TitleWithdrawn"],
            targets=[targets.SqsQueue(self.purge_queue, dead_letter_queue=self.purge_dead_letter_queue)],
        )

    # --- off-peak fill -------------------------------------------------------------------------

    def add_offpeak_fill(
        self,
        *,
        catalog: CatalogData,
        home_table: dynamodb.ITable,
        layers: Sequence[lambda_.ILayerVersion],
        schedule: str = OFFPEAK_SCHEDULE,
        budget_bytes: int = OFFPEAK_BUDGET_BYTES,
        log_level: str = "INFO",
    ) -> None:
        """The scheduled fill of popular titles, whole (functions/delivery handlers/offpeak.py). Its
        own call because it reads the home service's trending items, built after this construct."""
        self.offpeak_function = service_function(
            self,
            "OffpeakFillFunction",
            name="delivery",
            code_dir=str(DELIVERY_CODE_DIR),
            handler="delivery.handlers.offpeak.lambda_handler",
            environment={
                "PREFILL_TABLE": self.prefill_table.table_name,
                "PREFILL_LEASE_S": str(int(OFFPEAK_TIMEOUT.to_seconds()) + 60),
                "HOME_TABLE": home_table.table_name,
                "CATALOG_TABLE": catalog.catalog_table.table_name,
                "OFFPEAK_BUDGET_BYTES": str(budget_bytes),
            },
            layers=layers,
            memory_size=512,
            timeout=OFFPEAK_TIMEOUT,
            log_level=log_level,
            description="Reelstack delivery: off-peak fill of the most popular titles, whole, through the CDN",
        )
        self.grant_signing(self.offpeak_function)
        # Exactly the calls it makes: its ledger items; trending (one Query); catalog titles
        # (BatchGetItem) and the READY listing (Query on gsi1) -- read-only.
        for actions, resource in (
            (["dynamodb:UpdateItem"], self.prefill_table.table_arn),
            (["dynamodb:BatchGetItem"], catalog.catalog_table.table_arn),
            (["dynamodb:Query"], catalog.gsi1_arn),
        ):
            self.offpeak_function.add_to_role_policy(iam.PolicyStatement(actions=actions, resources=[resource]))
        # The home table holds every profile's page: the fill may read the trending partition only.
        self.offpeak_function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:Query"],
                resources=[home_table.table_arn],
                conditions=leading_keys(TRENDING_PARTITION),
            )
        )
        self.offpeak_rule = events.Rule(
            self,
            "OffpeakFillSchedule",
            description="Off-peak fill of the most popular titles (resumes the day's fill each run)",
            schedule=events.Schedule.expression(schedule),
            targets=[targets.LambdaFunction(self.offpeak_function, retry_attempts=0)],
        )
