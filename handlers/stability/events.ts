/** The ECS events that may settle a wait (the EventBridge rule in infra/stability.ts sends these to ecs-events). */
export const WATCHED_DETAIL_TYPES = ['ECS Deployment State Change', 'ECS Service Action'] as const;
