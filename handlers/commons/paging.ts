import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { Logger } from './logger.ts';

/**
 * Paging: when people must take over — an escalation, a fail-safe that failed, nobody approving, an
 * incident stuck, a desired count restored after an execution was stopped — one message goes to the
 * SNS topic the stack creates. Email, SMS, and the PagerDuty or Opsgenie SNS integrations subscribe
 * to it (docs/operations.md). A page must not be lost to a Slack outage, so it does not go through Slack.
 */
export interface Page {
  /** Why people are needed, in one line (the SNS subject is cut to 100 characters). */
  summary: string;
  service: string;
  cluster?: string;
  incidentId?: string;
  executionArn?: string;
  severity?: string;
  /** What happened and what to look at first. */
  details: string;
  /** A stable key: the same page twice (a retried Lambda) is deduplicated by the receiver. */
  dedupKey: string;
}

export interface Pager {
  page(page: Page): Promise<void>;
}

export function snsPager(sns: SNSClient, topicArn: string): Pager {
  return {
    async page(page) {
      const subject = `[incident-flows] ${page.summary}`.replace(/[\r\n]+/g, ' ').replace(/→/g, '->').replace(/[—–]/g, '-');
      await sns.send(
        new PublishCommand({
          TopicArn: topicArn,
          // SNS subjects: ASCII printable, at most 100 characters.
          Subject: subject.replace(/[^\x20-\x7e]/g, '?').slice(0, 100),
          Message: JSON.stringify({ ...page, source: 'incident-flows' }, null, 2),
          MessageAttributes: {
            service: { DataType: 'String', StringValue: page.service },
            dedupKey: { DataType: 'String', StringValue: page.dedupKey },
          },
        }),
      );
    },
  };
}

/** Without a topic (a misconfigured stack), the page is at least a loud log line. */
export function logPager(log: Logger): Pager {
  return {
    async page(page) {
      log.error('PAGE (no paging topic configured): people must take over', { ...page });
    },
  };
}
