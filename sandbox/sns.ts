import { randomUUID } from 'node:crypto';
import type { SimClock } from './clock.ts';
import { AwsServiceError, type AwsJsonService } from './http.ts';

/**
 * Amazon SNS for the sandbox (awsQuery, Version 2010-03-31): the paging topic the stack creates,
 * and what was published to it — the sandbox's record of who would have been paged. Publish,
 * ListTopics; errors as SNS answers them (NotFound 404, InvalidParameter 400).
 */

export const SNS_VERSION = '2010-03-31';

export interface PublishedPage {
  topicArn: string;
  subject?: string;
  message: string;
  at: string;
  messageId: string;
}

export class SnsTopics {
  readonly published: PublishedPage[] = [];
  private readonly topics: Set<string>;

  constructor(
    private readonly opts: { clock: SimClock; region: string; accountId: string },
    topicNames: string[],
  ) {
    this.topics = new Set(topicNames.map((n) => this.arnOf(n)));
  }

  arnOf(name: string): string {
    return `arn:aws:sns:${this.opts.region}:${this.opts.accountId}:${name}`;
  }

  readonly handle: AwsJsonService = (action, params) => {
    switch (action) {
      case 'Publish':
        return this.publish(params);
      case 'ListTopics':
        return { Topics: [...this.topics].map((TopicArn) => ({ TopicArn })) };
      default:
        throw new AwsServiceError('InvalidAction', `the sandbox's SNS does not implement ${action}`, 400);
    }
  };

  private publish(params: Record<string, unknown>): { MessageId: string } {
    const topicArn = params.TopicArn;
    if (typeof topicArn !== 'string' || topicArn === '') throw new AwsServiceError('InvalidParameter', 'Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter', 400);
    if (!this.topics.has(topicArn)) throw new AwsServiceError('NotFound', 'Topic does not exist', 404);
    const message = params.Message;
    if (typeof message !== 'string' || message === '') throw new AwsServiceError('InvalidParameter', 'Invalid parameter: Empty message', 400);
    const subject = params.Subject;
    if (subject !== undefined && (typeof subject !== 'string' || subject.length > 100 || /[^\x20-\x7e]/.test(subject))) {
      throw new AwsServiceError('InvalidParameter', 'Invalid parameter: Subject', 400);
    }
    const messageId = randomUUID();
    this.published.push({ topicArn, ...(typeof subject === 'string' ? { subject } : {}), message, at: this.opts.clock.now().toISOString(), messageId });
    return { MessageId: messageId };
  }
}
