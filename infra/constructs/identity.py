"""Cognito user pool: subscribers sign in with email + password; admins are the ``admins`` group."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.constructs.nag import acknowledge

ADMINS_GROUP = "admins"

# What the accounts service does with the pool beyond the public client API (SignUp, ConfirmSignUp,
# InitiateAuth need no IAM): undo a failed sign-up, find a user and its groups. No wildcard.
ACCOUNTS_COGNITO_ACTIONS = [
    "cognito-idp:AdminDeleteUser",
    "cognito-idp:AdminGetUser",
    "cognito-idp:AdminListGroupsForUser",
    "cognito-idp:AdminInitiateAuth",
    "cognito-idp:InitiateAuth",
]
# Privileged routes re-check the caller's standing (reelstack_common.auth.require_group/require_active).
STANDING_COGNITO_ACTIONS = ["cognito-idp:AdminGetUser", "cognito-idp:AdminListGroupsForUser"]
# A JWT cannot be revoked before it expires: keep access and id tokens short (Cognito's minimum is
# 5 minutes, default 60). Privileged routes also ask Cognito (cached 10 s); refresh tokens stay 30 days.
ACCESS_TOKEN_MINUTES = 15


class Identity(Construct):
    """Attributes other code uses:

    user_pool: cognito.UserPool (env ``USER_POOL_ID`` = ``user_pool.user_pool_id``)
    user_pool_client: cognito.UserPoolClient (env ``USER_POOL_CLIENT_ID``)
    admins_group: cognito.CfnUserPoolGroup named ``admins`` (env ``ADMINS_GROUP``)
    issuer_url: ``https://cognito-idp.<region>.amazonaws.com/<poolId>`` (JWT issuer)
    grant_accounts_admin(grantee): the Cognito admin actions the accounts service needs, on this pool
    grant_standing_lookup(grantee): AdminGetUser + AdminListGroupsForUser (privileged routes' re-check)
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            # Sign-up is Cognito's own SignUp + ConfirmSignUp (emailed code) through the accounts API,
            # so that its answer never says whether an email has an account.
            self_sign_up_enabled=True,
            sign_in_aliases=cognito.SignInAliases(email=True, username=False),
            sign_in_case_sensitive=False,
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            standard_attributes=cognito.StandardAttributes(
                email=cognito.StandardAttribute(required=True, mutable=True)
            ),
            password_policy=cognito.PasswordPolicy(
                min_length=8,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=False,
            ),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(sms=False, otp=True),
            # Users are the subscribers: never lose them with a stack delete.
            removal_policy=removal_policy,
        )
        acknowledge(
            self.user_pool,
            "AwsSolutions-COG1",
            "Password policy is the product contract (min 8, upper + lower + digit, no symbol rule), in line "
            "with NIST SP 800-63B which discourages composition rules; Cognito still blocks common passwords "
            "when threat protection is enabled.",
        )
        acknowledge(
            self.user_pool,
            "AwsSolutions-COG2",
            "Consumer streaming accounts: MFA is OPTIONAL (TOTP) so sign-up through the accounts API stays email "
            "+ emailed code; admins are expected to enrol TOTP.",
        )
        acknowledge(
            self.user_pool,
            "AwsSolutions-COG8",
            "The Plus feature plan (threat protection) is billed per MAU; the Essentials plan is enough for "
            "this stage. Revisit before production launch.",
        )
        self.user_pool_client = self.user_pool.add_client(
            "AppClient",
            # Public client (mobile / web / API callers): no secret, so SECRET_HASH is never needed.
            generate_secret=False,
            auth_flows=cognito.AuthFlow(user_password=True, admin_user_password=True),
            # CDK always adds ALLOW_REFRESH_TOKEN_AUTH; 30 days is Cognito's default, made explicit.
            refresh_token_validity=Duration.days(30),
            access_token_validity=Duration.minutes(ACCESS_TOKEN_MINUTES),
            id_token_validity=Duration.minutes(ACCESS_TOKEN_MINUTES),
            prevent_user_existence_errors=True,
            enable_token_revocation=True,
        )
        self.admins_group = cognito.CfnUserPoolGroup(
            self,
            "AdminsGroup",
            user_pool_id=self.user_pool.user_pool_id,
            group_name=ADMINS_GROUP,
            description="Reelstack administrators (catalog management, billing operations)",
        )
        self.issuer_url: str = (
            f"https://cognito-idp.{Stack.of(self).region}.amazonaws.com/{self.user_pool.user_pool_id}"
        )

    def grant_accounts_admin(self, grantee: iam.IGrantable) -> iam.Grant:
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=ACCOUNTS_COGNITO_ACTIONS,
            resource_arns=[self.user_pool.user_pool_arn],
        )

    def grant_standing_lookup(self, grantee: iam.IGrantable) -> iam.Grant:
        """Is the caller still enabled and in its groups (privileged routes ask, cached)."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=STANDING_COGNITO_ACTIONS,
            resource_arns=[self.user_pool.user_pool_arn],
        )
