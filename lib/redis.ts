// `modelscope-balance/redis`: the Redis store, an entry of its own so that
// users who don't share state never load a Redis client. Neither client
// library is imported until a store starts: a URL loads ioredis then, and a
// node-redis client needs no ioredis at all.
export { RedisStore, type RedisStoreOptions } from './store/redis-store.js';
export type { IoRedisClient, NodeRedisClient, RedisClient, RedisClientKind } from './store/redis-link.js';
