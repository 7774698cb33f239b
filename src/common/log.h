/* Logging: human lines or JSON lines, to stderr or a file descriptor.
 *
 * The sink is process-wide by nature (one stderr per process), so it is the
 * one piece of mutable global state the libraries share; main() configures
 * it once with moat_log_init() before starting any work. */
#ifndef MOAT_COMMON_LOG_H
#define MOAT_COMMON_LOG_H

enum moat_log_level
{
  MOAT_LOG_DEBUG,
  MOAT_LOG_INFO,
  MOAT_LOG_WARN,
  MOAT_LOG_ERROR,
};

enum moat_log_format
{
  MOAT_LOG_HUMAN,
  MOAT_LOG_JSON,
};

/* component: short name printed with every line ("moatd", "moat-runc"). */
void moat_log_init (const char *component, enum moat_log_format fmt,
                    enum moat_log_level min_level, int fd);

/* Parse "json"/"text"; returns -1 for anything else. */
int moat_log_format_parse (const char *s, enum moat_log_format *out);

void moat_log (enum moat_log_level level, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

#define log_debug(...) moat_log (MOAT_LOG_DEBUG, __VA_ARGS__)
#define log_info(...) moat_log (MOAT_LOG_INFO, __VA_ARGS__)
#define log_warn(...) moat_log (MOAT_LOG_WARN, __VA_ARGS__)
#define log_error(...) moat_log (MOAT_LOG_ERROR, __VA_ARGS__)

#endif
