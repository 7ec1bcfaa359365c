import { Annotations, CfnOutput, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import * as z from 'zod';
import { approversSchema } from '../handlers/commons/approvals.ts';
import { DEFAULT_APPROVAL_POLICY, parseApprovalPolicy, type ApprovalPolicy } from '../handlers/commons/policy.ts';
import type { StackConfig } from './config.ts';
import { handlerFunction } from './handler-function.ts';


/**
 * Human approval through Slack: the approvals table (task tokens stay here), the request-approval
 * and slack-interactions functions, the HTTP API Slack calls, and the Slack secret.
 *
 * slack-interactions has two doors: the HTTP API (a click: verify, record the decision, answer
 * within Slack's 3 s) and the approvals table's stream (every recorded, undelivered decision:
 * SendTask* and chat.update, retried, then kept in a dead-letter queue). The recorded decision is
 * itself the hand-off, so nothing can be lost between answering Slack and telling the workflow.
 *
 * Configure in cdk.json → context.incidentFlowsApprovals:
 *   { "channel": "C0123INCIDENTS",
 *     "approvers": { "on-call": ["S0ONCALL"], "team-lead": ["U0LEAD"], "vp": ["U0VP"] },
 *     "slackSecretName": "incident-flows/slack",            // optional: an existing secret
 *     "policy": { "escalation": [...], "workflows": {...} } } // optional: handlers/commons/policy.ts
 * The secret holds {"signingSecret": "...", "botToken": "xoxb-..."}; the stack never sees the values.
 */
export const approvalsContextSchema = z
  .object({
    channel: z.string().min(1).default('#incidents'),
    approvers: approversSchema.default({ 'on-call': [], 'team-lead': [], vp: [] }),
    slackSecretName: z.string().min(1).optional(),
    policy: z.unknown().optional(),
    /** Requests per second the Slack route accepts (abuse ceiling; Slack sends a few per click). */
    rateLimit: z.number().int().min(1).max(1000).default(20),
  })
  .strict();

export interface ApprovalsProps {
  config: StackConfig;
}

export class Approvals extends Construct {
  readonly table: dynamodb.Table;
  readonly secret: secretsmanager.ISecret;
  readonly requestApproval: NodejsFunction;
  readonly slackInteractions: NodejsFunction;
  readonly api: apigw.HttpApi;
  /** Decisions the stream could not deliver after its retries (a person must look; `incident-flows approve|reject` delivers them). */
  readonly undeliveredDecisions: sqs.Queue;
  readonly policy: ApprovalPolicy;
  /** The URL to paste into the Slack app's Interactivity settings. */
  readonly callbackUrl: string;

  constructor(scope: Construct, id: string, props: ApprovalsProps) {
    super(scope, id);
    const { config } = props;
    const parsed = approvalsContextSchema.safeParse(this.node.tryGetContext('incidentFlowsApprovals') ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`context incidentFlowsApprovals.${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
    }
    const settings = parsed.data;
    this.policy = settings.policy === undefined ? DEFAULT_APPROVAL_POLICY : parseApprovalPolicy(settings.policy);
    if (Object.values(settings.approvers).every((list) => list.length === 0)) {
      Annotations.of(this).addWarning('incidentFlowsApprovals.approvers is empty: nobody can approve from Slack (the CLI fallback still works)');
    }

    this.table = new dynamodb.Table(this, 'Table', {
      tableName: `${config.prefix}-approvals`,
      partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'ttl',
      // Recorded decisions reach the workflow through this stream (see deliverRecordedDecisions).
      stream: dynamodb.StreamViewType.NEW_IMAGE,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.secret = settings.slackSecretName
      ? secretsmanager.Secret.fromSecretNameV2(this, 'SlackSecret', settings.slackSecretName)
      : new secretsmanager.Secret(this, 'SlackSecret', {
          secretName: `${config.prefix}/slack`,
          description: 'incident-flows Slack app: {"signingSecret": "...", "botToken": "xoxb-..."} — fill in after the first deploy',
          generateSecretString: { secretStringTemplate: JSON.stringify({ botToken: '' }), generateStringKey: 'signingSecret' },
        });
    Validations.of(this.secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'Slack issues and rotates the signing secret and the bot token (Slack app settings, token rotation); Secrets Manager cannot rotate them, people paste the new values here.',
    });

    const environment = {
      APPROVALS_TABLE: this.table.tableName,
      SLACK_SECRET_ARN: this.secret.secretArn,
      SLACK_CHANNEL: settings.channel,
      SLACK_APPROVERS: JSON.stringify(settings.approvers),
      // request-approval refuses to ask people about a service the stack does not manage.
      MANAGED_SERVICES: config.services.map((s) => s.name).join(','),
      LOG_LEVEL: config.logLevel,
      NODE_OPTIONS: '--enable-source-maps',
    };
    this.requestApproval = this.handlerFunction('request-approval', environment, 256);
    // More memory is more CPU: the callback's cold start must stay well inside Slack's 3 s.
    this.slackInteractions = this.handlerFunction('slack-interactions', environment, 512);

    // Delivery: each decided row not yet delivered (a click recorded it, or a later click pushed it
    // again) invokes the function. Delivering twice is harmless (Step Functions closes a task once;
    // the history settles any doubt), so retries are safe; what still fails is kept, not dropped.
    this.undeliveredDecisions = new sqs.Queue(this, 'UndeliveredDecisions', {
      retentionPeriod: Duration.days(14),
      enforceSSL: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
    });
    Validations.of(this.undeliveredDecisions).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue (the approvals stream\'s on-failure destination); an alarm pages on any message in it.',
    });
    this.slackInteractions.addEventSource(
      new DynamoEventSource(this.table, {
        startingPosition: lambda.StartingPosition.LATEST,
        batchSize: 1,
        // Approvals are independent: one that cannot be delivered must not hold up the others on its shard.
        parallelizationFactor: 10,
        retryAttempts: 10,
        maxRecordAge: Duration.hours(1),
        reportBatchItemFailures: true,
        onFailure: new SqsDlq(this.undeliveredDecisions),
        filters: [
          lambda.FilterCriteria.filter({
            eventName: lambda.FilterRule.or('INSERT', 'MODIFY'),
            dynamodb: {
              NewImage: {
                status: { S: lambda.FilterRule.or('approved', 'rejected') },
                deliveredAt: { S: lambda.FilterRule.notExists() },
              },
            },
          }),
        ],
      }),
    );

    this.table.grantReadWriteData(this.requestApproval);
    this.table.grantReadWriteData(this.slackInteractions);
    this.secret.grantRead(this.requestApproval);
    this.secret.grantRead(this.slackInteractions);

    this.api = new apigw.HttpApi(this, 'SlackApi', {
      apiName: `${config.prefix}-slack`,
      description: 'Slack interactivity callback for incident-flows approvals (signed requests only)',
      createDefaultStage: false,
    });
    const stage = this.api.addStage('Stage', {
      autoDeploy: true,
      stageName: '$default',
      throttle: { rateLimit: settings.rateLimit, burstLimit: settings.rateLimit * 2 },
      // Who called, when and with what answer; never headers or bodies (signatures, payloads).
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(new logs.LogGroup(this, 'SlackApiAccessLogs', { retention: logs.RetentionDays.THREE_MONTHS })),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            requestTime: '$context.requestTime',
            ip: '$context.identity.sourceIp',
            userAgent: '$context.identity.userAgent',
            routeKey: '$context.routeKey',
            status: '$context.status',
            responseLength: '$context.responseLength',
            integrationStatus: '$context.integrationStatus',
            integrationLatency: '$context.integrationLatency',
            integrationError: '$context.integrationErrorMessage',
          }),
        ),
      },
    });
    const routes = this.api.addRoutes({
      path: '/slack/interactions',
      methods: [apigw.HttpMethod.POST],
      integration: new HttpLambdaIntegration('SlackInteractions', this.slackInteractions, {
        payloadFormatVersion: apigw.PayloadFormatVersion.VERSION_2_0,
      }),
    });
    for (const route of routes) {
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason: 'Slack cannot present IAM, Cognito or JWT credentials: every request is authenticated in slack-interactions by Slack request signing (HMAC-SHA256 of the body with the signing secret, timestamp within 5 minutes, replay refused) before anything is read; approvers are then checked against the configured Slack users.',
      });
    }
    this.callbackUrl = `${stage.url.replace(/\/$/, '')}/slack/interactions`;
    new CfnOutput(this, 'SlackInteractivityUrl', { value: this.callbackUrl, description: 'Slack app › Interactivity & Shortcuts › Request URL' });
  }

  /**
   * Lets the Slack callback complete this state machine's approval tasks, and read its executions'
   * history — which settles whether a decision whose answer was lost took effect (the CLI uses its
   * caller's own IAM rights: it needs the same two).
   */
  allowDecisionsFor(stateMachine: sfn.StateMachine): void {
    stateMachine.grantTaskResponse(this.slackInteractions);
    stateMachine.grantExecution(this.slackInteractions, 'states:GetExecutionHistory');
  }

  private handlerFunction(name: 'request-approval' | 'slack-interactions', environment: Record<string, string>, memorySize: number): NodejsFunction {
    // slack-interactions: a click is answered in well under 3 s; a delivery may wait on Step Functions' retries.
    return handlerFunction(this, name, { environment, memorySize, timeout: Duration.seconds(name === 'slack-interactions' ? 15 : 30) });
  }
}
