/**
 * How the pipeline and the service report a line to whoever runs them: a
 * level with it, so an operator's log shows a lost Redis connection or a
 * Redis that may evict jobs as a warning or an error, not as news.
 */
export type LogLevel = 'info' | 'warn' | 'error';

export type LogLine = (line: string, level?: LogLevel) => void;
