import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { StackConfig } from './config.ts';

/**
 * The paging topic: every moment people must take over is published here (handlers/commons/paging.ts).
 * Subscribe email addresses from the configuration; PagerDuty and Opsgenie subscribe with their SNS
 * integration URLs (docs/operations.md). On by default: a stack without a subscriber still has the
 * topic, and the deploy output names it.
 */
export class Paging extends Construct {
  readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: { config: StackConfig }) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'Topic', {
      topicName: `${props.config.prefix}-paging`,
      displayName: 'incident-flows: people must take over',
      enforceSSL: true,
    });
    for (const email of props.config.paging.emails) this.topic.addSubscription(new subscriptions.EmailSubscription(email));
    for (const url of props.config.paging.httpsUrls) this.topic.addSubscription(new subscriptions.UrlSubscription(url));
  }

  /** The function may page: the topic's ARN in PAGING_TOPIC_ARN and sns:Publish on it. */
  allowPaging(fn: IFunction & { addEnvironment(key: string, value: string): unknown }): void {
    fn.addEnvironment('PAGING_TOPIC_ARN', this.topic.topicArn);
    this.topic.grantPublish(fn);
  }

  /**
   * CloudWatch may publish the stack's alarms (names matching the pattern) to the topic. The topic
   * has its own policy (enforceSSL), which replaces SNS's default one: without this statement an
   * alarm's action would be refused. Scoped to this account's alarms of that name (confused deputy).
   */
  allowAlarms(alarmNamePattern: string): void {
    const stack = Stack.of(this);
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: alarmNamePattern, arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
          StringEquals: { 'aws:SourceAccount': stack.account },
        },
      }),
    );
  }

  get topicName(): string {
    return Stack.of(this).resolve(this.topic.topicName) as string;
  }
}
