"""Generate a realistic synthetic CloudTrail stream, deterministic for a seed.

A mix of IAM users, assumed-role sessions (with and without MFA), AWS services, root
and federated users; many event names across services; ~4% errors (AccessDenied,
throttling, missing entities); console logins with failures; ``resources`` and request
parameters. Events are written as they are made, so memory does not grow with N.

    python bench/gen_cloudtrail.py 1000000 out.jsonl            # JSON lines
    python bench/gen_cloudtrail.py 100000 out.json --records 500 # S3-style Records files
"""

from __future__ import annotations

import argparse
import random
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import IO, Any

import orjson

ACCOUNTS = ["111122223333", "444455556666", "777788889999"]
REGIONS = ["us-east-1", "us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2"]
SERVICES: dict[str, list[tuple[str, bool]]] = {
    "s3": [("GetObject", True), ("PutObject", False), ("ListBuckets", True),
           ("GetBucketPolicy", True), ("DeleteObject", False), ("HeadObject", True)],
    "ec2": [("DescribeInstances", True), ("RunInstances", False), ("DescribeSecurityGroups", True),
            ("AuthorizeSecurityGroupIngress", False), ("DescribeVolumes", True),
            ("CreateSnapshot", False), ("TerminateInstances", False)],
    "iam": [("ListUsers", True), ("GetUser", True), ("CreateAccessKey", False),
            ("AttachUserPolicy", False), ("CreateUser", False), ("ListRoles", True),
            ("PutRolePolicy", False), ("UpdateAssumeRolePolicy", False), ("AddUserToGroup", False)],
    "sts": [("AssumeRole", False), ("GetCallerIdentity", True), ("GetSessionToken", False),
            ("AssumeRoleWithWebIdentity", False)],
    "kms": [("Decrypt", True), ("GenerateDataKey", True), ("Encrypt", True)],
    "lambda": [("Invoke", False), ("ListFunctions20150331", True),
               ("UpdateFunctionCode20150331v2", False)],
    "secretsmanager": [("GetSecretValue", True), ("ListSecrets", True)],
    "ssm": [("GetParameter", True), ("SendCommand", False), ("StartSession", False)],
    "logs": [("CreateLogStream", False), ("PutLogEvents", False), ("DescribeLogGroups", True)],
    "cloudtrail": [("LookupEvents", True), ("StopLogging", False), ("DescribeTrails", True)],
    "monitoring": [("PutMetricData", False), ("GetMetricData", True)],
    "dynamodb": [("GetItem", True), ("Query", True), ("PutItem", False)],
}  # fmt: skip
ERRORS = [
    ("AccessDenied", "User: {arn} is not authorized to perform: {action}"),
    ("Client.UnauthorizedOperation", "You are not authorized to perform this operation."),
    ("ThrottlingException", "Rate exceeded"),
    ("NoSuchEntityException", "The user with name ghost cannot be found."),
    ("ResourceNotFoundException", "Secret not found"),
]
AGENTS = [
    "aws-cli/2.15.10 Python/3.11.6 Linux/6.2.0 exe/x86_64.ubuntu.22 prompt/off command/s3.ls",
    "Boto3/1.34.20 md/Botocore#1.34.20 ua/2.0 os/linux#6.1 md/arch#x86_64 lang/python#3.12.1",
    "aws-sdk-go-v2/1.24.1 os/linux lang/go#1.21.5 md/GOOS#linux md/GOARCH#amd64 api/s3#1.48.0",
    "console.amazonaws.com",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 Chrome/120.0 Safari/537.36",
    "Terraform/1.6.6 (+https://www.terraform.io) terraform-provider-aws/5.31.0",
]
AWS_SERVICE_CALLERS = ["ec2.amazonaws.com", "lambda.amazonaws.com", "cloudformation.amazonaws.com",
                       "ssm.amazonaws.com", "autoscaling.amazonaws.com"]  # fmt: skip


class Population:
    """Principals to draw from, fixed by the seed."""

    def __init__(self, rng: random.Random) -> None:
        self.users = [
            (acct, f"user{i:03d}", "AKIA" + _key(rng), f"AIDA{_key(rng)}")
            for i in range(200)
            for acct in [rng.choice(ACCOUNTS)]
        ]
        self.roles = [
            (acct, name, f"AROA{_key(rng)}")
            for i, name in enumerate(
                f"{p}-{i}" for i, p in enumerate(["Deploy", "ReadOnly", "Admin", "CI", "Lambda"] * 20)
            )
            for acct in [ACCOUNTS[i % len(ACCOUNTS)]]
        ]
        self.ips = [f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
                    for _ in range(500)]  # fmt: skip


def _key(rng: random.Random) -> str:
    return "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))


def _identity(rng: random.Random, pop: Population, when: datetime) -> tuple[dict[str, Any], str]:
    roll = rng.random()
    if roll < 0.35:
        acct, name, key, pid = rng.choice(pop.users)
        arn = f"arn:aws:iam::{acct}:user/{name}"
        return {"type": "IAMUser", "principalId": pid, "arn": arn, "accountId": acct,
                "accessKeyId": key, "userName": name}, acct  # fmt: skip
    if roll < 0.85:
        acct, role, rid = rng.choice(pop.roles)
        session = f"session-{rng.randint(1, 5000)}"
        return {
            "type": "AssumedRole",
            "principalId": f"{rid}:{session}",
            "arn": f"arn:aws:sts::{acct}:assumed-role/{role}/{session}",
            "accountId": acct,
            "accessKeyId": "ASIA" + _key(rng),
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": rid,
                    "arn": f"arn:aws:iam::{acct}:role/{role}",
                    "accountId": acct,
                    "userName": role,
                },
                "webIdFederationData": {},
                "attributes": {
                    "creationDate": (when - timedelta(minutes=rng.randint(1, 60))).strftime(
                        "%Y-%m-%dT%H:%M:%SZ"
                    ),
                    "mfaAuthenticated": "true" if rng.random() < 0.3 else "false",
                },
            },
        }, acct
    if roll < 0.95:
        acct = rng.choice(ACCOUNTS)
        return {"type": "AWSService", "invokedBy": rng.choice(AWS_SERVICE_CALLERS)}, acct
    if roll < 0.98:
        acct = rng.choice(ACCOUNTS)
        return {"type": "Root", "principalId": acct, "arn": f"arn:aws:iam::{acct}:root",
                "accountId": acct, "accessKeyId": "ASIA" + _key(rng)}, acct  # fmt: skip
    acct, name, _, _ = rng.choice(pop.users)
    return {
        "type": "FederatedUser",
        "principalId": f"{acct}:{name}",
        "arn": f"arn:aws:sts::{acct}:federated-user/{name}",
        "accountId": acct,
        "accessKeyId": "ASIA" + _key(rng),
        "sessionContext": {
            "sessionIssuer": {
                "type": "IAMUser",
                "principalId": "AIDA" + _key(rng),
                "arn": f"arn:aws:iam::{acct}:user/{name}",
                "accountId": acct,
                "userName": name,
            }
        },
    }, acct


def events(n: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    """``n`` CloudTrail records in time order."""
    rng = random.Random(seed)
    pop = Population(rng)
    when = datetime(2024, 6, 1, tzinfo=UTC)
    services = list(SERVICES)
    for _ in range(n):
        when += timedelta(milliseconds=rng.randint(0, 400))
        identity, acct = _identity(rng, pop, when)
        if rng.random() < 0.01:
            service, name, read_only = "signin", "ConsoleLogin", False
        else:
            service = rng.choice(services)
            name, read_only = rng.choice(SERVICES[service])
        source = f"{service}.amazonaws.com"
        region = rng.choice(REGIONS)
        record: dict[str, Any] = {
            "eventVersion": "1.09",
            "userIdentity": identity,
            "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": source,
            "eventName": name,
            "awsRegion": region,
            "sourceIPAddress": identity.get("invokedBy") or rng.choice(pop.ips),
            "userAgent": identity.get("invokedBy") or rng.choice(AGENTS),
            "requestParameters": _params(rng, service, name, acct, region),
            "responseElements": None,
            "requestID": str(uuid.UUID(int=rng.getrandbits(128))),
            "eventID": str(uuid.UUID(int=rng.getrandbits(128))),
            "readOnly": read_only,
            "eventType": "AwsApiCall",
            "managementEvent": service not in ("s3", "dynamodb"),
            "recipientAccountId": acct,
            "eventCategory": "Management",
            "tlsDetails": {
                "tlsVersion": "TLSv1.3",
                "cipherSuite": "TLS_AES_128_GCM_SHA256",
                "clientProvidedHostHeader": f"{service}.{region}.amazonaws.com",
            },
        }
        if service == "signin":
            record["eventType"] = "AwsConsoleSignIn"
            ok = rng.random() < 0.8
            record["responseElements"] = {"ConsoleLogin": "Success" if ok else "Failure"}
            record["additionalEventData"] = {"MFAUsed": rng.choice(["Yes", "No"]),
                                             "LoginTo": "https://console.aws.amazon.com/"}  # fmt: skip
            if not ok:
                record["errorMessage"] = "Failed authentication"
        elif rng.random() < 0.04:
            code, message = rng.choice(ERRORS)
            record["errorCode"] = code
            record["errorMessage"] = message.format(arn=identity.get("arn", ""), action=f"{service}:{name}")
        if service == "s3" and "bucketName" in record["requestParameters"]:
            bucket = record["requestParameters"]["bucketName"]
            record["resources"] = [{"type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}]
        yield record


def _params(rng: random.Random, service: str, name: str, acct: str, region: str) -> dict[str, Any]:
    if service == "iam":
        return {"userName": f"user{rng.randint(0, 199):03d}"}
    if service == "sts":
        role = rng.choice(["Deploy", "Admin", "CI"])
        return {"roleArn": f"arn:aws:iam::{acct}:role/{role}-1", "roleSessionName": "s",
                "durationSeconds": 3600}  # fmt: skip
    if service == "s3":
        return {"bucketName": f"data-{rng.randint(1, 40)}", "key": f"obj/{rng.randint(1, 10**6)}"}
    if service == "ec2":
        return {"instancesSet": {"items": [{"instanceId": f"i-{rng.getrandbits(56):014x}"}]},
                "filterSet": {}}  # fmt: skip
    if service == "secretsmanager":
        return {"secretId": f"arn:aws:secretsmanager:{region}:{acct}:secret:app/{rng.randint(1, 30)}"}
    return {"name": f"{service}-{rng.randint(1, 100)}"}


def write(n: int, out: IO[bytes], *, seed: int = 7, records_per_file: int = 0) -> None:
    """Write ``n`` events as JSON lines, or as ``{"Records": [...]}`` lines of that size."""
    if records_per_file <= 0:
        for record in events(n, seed):
            out.write(orjson.dumps(record))
            out.write(b"\n")
        return
    batch: list[dict[str, Any]] = []
    for record in events(n, seed):
        batch.append(record)
        if len(batch) == records_per_file:
            out.write(orjson.dumps({"Records": batch}) + b"\n")
            batch = []
    if batch:
        out.write(orjson.dumps({"Records": batch}) + b"\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int)
    parser.add_argument("out", help="output file, or - for stdout")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--records", type=int, default=0, help="events per Records object")
    args = parser.parse_args(argv)
    if args.out == "-":
        write(args.n, sys.stdout.buffer, seed=args.seed, records_per_file=args.records)
    else:
        with open(args.out, "wb") as out:
            write(args.n, out, seed=args.seed, records_per_file=args.records)


if __name__ == "__main__":
    main()
