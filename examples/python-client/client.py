#!/usr/bin/env python3
"""Start a deployed Ferry workflow with boto3 and wait for its notification.

The workflow's spec has `notify: { sns: { create: true } }` (or a topic ARN),
so its stack outputs `WorkflowStateMachineArn` and `WorkflowNotifyTopicArn`.
This client subscribes a queue of its own to the topic, starts one execution,
waits for the message announcing that execution's end, prints it and cleans
up. Exit code 0 when the execution SUCCEEDED, 1 otherwise (or on timeout).

    python3 client.py --stack ferry-<workflow> --input '{"n": 3}' [--timeout-seconds 300]

Credentials, region and endpoint come from the usual boto3 sources
(AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL for LocalStack, ...).
"""

import argparse
import json
import sys
import time
import uuid

import boto3


def stack_outputs(cloudformation, stack):
    described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def subscribe_queue(sqs, sns, topic_arn):
    """A queue of this client's own, subscribed to the topic with raw delivery."""
    name = f"ferry-client-{uuid.uuid4().hex[:12]}"
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})
    subscription = sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    return queue_url, subscription


def wait_for_notification(sqs, queue_url, execution_arn, deadline):
    """The version 1 message about `execution_arn`, or None when the deadline passes first."""
    while time.monotonic() < deadline:
        wait = max(1, min(20, int(deadline - time.monotonic())))
        received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait)
        for message in received.get("Messages", []):
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            body = json.loads(message["Body"])
            if body.get("v") == 1 and body.get("executionArn") == execution_arn:
                return body
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True, help="the workflow's stack, ferry-<workflow>")
    parser.add_argument("--input", default="{}", help="execution input, JSON")
    parser.add_argument("--timeout-seconds", type=float, default=300)
    args = parser.parse_args()

    session = boto3.session.Session()
    outputs = stack_outputs(session.client("cloudformation"), args.stack)
    machine_arn = outputs["WorkflowStateMachineArn"]
    topic_arn = outputs.get("WorkflowNotifyTopicArn")
    if topic_arn is None:
        sys.exit(f"stack {args.stack} has no WorkflowNotifyTopicArn output: give its spec notify:")

    sqs, sns, sfn = session.client("sqs"), session.client("sns"), session.client("stepfunctions")
    queue_url, subscription = subscribe_queue(sqs, sns, topic_arn)
    try:
        # Subscribed first, so the notification cannot come before anyone listens.
        execution_arn = sfn.start_execution(stateMachineArn=machine_arn, input=args.input)["executionArn"]
        print(f"started {execution_arn}", file=sys.stderr)
        message = wait_for_notification(sqs, queue_url, execution_arn, time.monotonic() + args.timeout_seconds)
    finally:
        sns.unsubscribe(SubscriptionArn=subscription)
        sqs.delete_queue(QueueUrl=queue_url)

    if message is None:
        print(json.dumps({"v": 1, "executionArn": execution_arn, "status": None, "notified": False}))
        print(f"no notification within {args.timeout_seconds:g} s", file=sys.stderr)
        return 1
    # `output` arrives as the execution's output JSON text; "" or null for errors mean none.
    output = message.get("output")
    result = {
        "v": 1,
        "workflow": message.get("workflow"),
        "executionArn": execution_arn,
        "status": message["status"],
        "output": json.loads(output) if isinstance(output, str) and output else None,
        "error": message.get("error") or None,
        "cause": message.get("cause") or None,
        "time": message.get("time"),
        "notified": True,
    }
    print(json.dumps(result))
    print(f"{result['status']}", file=sys.stderr)
    return 0 if result["status"] == "SUCCEEDED" else 1


if __name__ == "__main__":
    sys.exit(main())
