// `modelscope-balance/redis`: the Redis store, an entry of its own so that
// users who don't share state never load a Redis client.
export { RedisStore, type RedisStoreOptions } from './store/redis-store.js';
