export { closeRedis, connectOptionalRedis } from './client';
export { bounded, OptionalRedis, type OptionalRedisOptions } from './optional-redis';
