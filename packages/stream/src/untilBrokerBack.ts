import { BROKER_OUTAGE_LIMIT_MS, type BrokerError, BrokerUnavailable } from "@shop/broker"
import { Duration, Effect, Schedule } from "effect"

/**
 * Runs a broker call again while the broker is unreachable (a restart, a network blip), 0.5 s doubling to 5 s
 * between tries, a line each time, for at most `limitMs`. Without it one call that met the broker away killed
 * the processor (kafkajs gives up after ~30 s of its own retries; a broker restart on a loaded machine takes
 * longer). Only BrokerUnavailable is retried: a refused record or a missing topic is not an outage.
 * The call must be safe to repeat (reads, offset commits); a produce is not (see the DLQ produce).
 */
export const untilBrokerBack =
  (what: string, limitMs: number = BROKER_OUTAGE_LIMIT_MS) =>
  <A, E extends BrokerError, R>(call: Effect.Effect<A, E, R>): Effect.Effect<A, E | BrokerUnavailable, R> =>
    call.pipe(
      Effect.tapError((e) =>
        e._tag === "BrokerUnavailable"
          ? Effect.log(`${what}: broker unavailable (${e.message}); trying again`)
          : Effect.void,
      ),
      Effect.retry({
        while: (e) => e._tag === "BrokerUnavailable",
        schedule: Schedule.min([Schedule.exponential("500 millis"), Schedule.spaced("5 seconds")]).pipe(
          Schedule.upTo({ duration: limitMs }),
        ),
      }),
      Effect.mapError((e) =>
        e._tag === "BrokerUnavailable"
          ? new BrokerUnavailable({
              message: `${what}: the broker did not answer for ${Duration.format(Duration.millis(limitMs))} (${e.message}); the processor stops: start it again once the broker is back (nothing is lost, it resumes from the lake)`,
              cause: e,
            })
          : e,
      ),
    )
