SELECT DISTINCT segment
FROM {database}.segment_refreshes;

SELECT name,
  max(version),
  argMax(definition, version),
  argMax(created_at, version)
FROM {database}.segment_definitions
GROUP BY name
ORDER BY name;

SELECT segment,
  count(),
  sum(events),
  sum(events * events),
  sum(sessions),
  sum(sessions * sessions),
  sum(events * sessions),
  sum(active_days),
  sum(active_days * active_days),
  sum(eligible),
  sum(returned * eligible),
  sum(purchases),
  countIf(purchases > 0),
  sum(revenue),
  sum(revenue * revenue),
  sum(responses),
  sum(score_sum),
  sum(score_sq),
  sum(satisfied)
FROM (
  SELECT *,
    arrayJoin(arrayConcat(['(all)'], segs)) AS segment
  FROM (
    SELECT *,
      CAST([] AS Array(String)) AS segs
    FROM (
      SELECT person_id,
        length(times) AS events,
        arraySum(arrayMap((t, p) -> toUInt8(p = 0 OR t - p > 1800000), times, arrayPopBack(arrayPushFront(times, toUInt64(0))))) AS sessions,
        arrayMap(t -> intDiv(t, 86400000), times) AS days,
        length(arrayDistinct(days)) AS active_days,
        days[1] AS first_day,
        toUInt8((first_day + 7 + 1) * 86400000 <= 1701388800000) AS eligible,
        toUInt8(arrayExists((d, f) -> d > f AND d <= f + 7, days, arrayMap(d -> first_day, days))) AS returned,
        arrayCount(r -> r >= 0, rev) AS purchases,
        arraySum(arrayMap(r -> if(r > 0, r, 0.), rev)) AS revenue,
        arrayCount(a -> a = 1, answered) AS responses,
        arraySum(arrayMap((x, a) -> if(a = 1, x, 0.), score, answered)) AS score_sum,
        arraySum(arrayMap((x, a) -> if(a = 1, x * x, 0.), score, answered)) AS score_sq,
        arrayCount((x, a) -> a = 1 AND x >= 4.0, score, answered) AS satisfied
      FROM (
        SELECT person,
          person_id,
          arraySort((k, o) -> o, _gk, _go) AS _sk,
          arrayEnumerateUniq(_sk) AS _first,
          arrayMap(o -> bitShiftRight(o, 22), arrayFilter((x, f) -> f = 1, arraySort(_go), _first)) AS times,
          arrayFilter((x, f) -> f = 1, arraySort((x, o) -> o, _g_rev, _go), _first) AS rev,
          arrayFilter((x, f) -> f = 1, arraySort((x, o) -> o, _g_answered, _go), _first) AS answered,
          arrayFilter((x, f) -> f = 1, arraySort((x, o) -> o, _g_score, _go), _first) AS score
        FROM (
          SELECT person,
            any(_pid) AS person_id,
            groupArray(_o) AS _go,
            groupArray(_k) AS _gk,
            groupArray(_f_rev) AS _g_rev,
            groupArray(_f_answered) AS _g_answered,
            groupArray(_f_score) AS _g_score
          FROM (
            SELECT if(linked_person != 0, linked_person, identity_key) AS person,
              _o,
              _k,
              _f_rev,
              _f_answered,
              _f_score,
              if(linked_id != '', linked_id, _id) AS _pid
            FROM (
              SELECT identity_key,
                timestamp_ms * 4194304 + bitShiftRight(event_key, 42) AS _o,
                event_key AS _k,
                if(
                  type = 'track' AND event = 'Order Completed',
                  toFloat64OrZero(visitParamExtractString(property_paths, 'revenue')),
                  -1.
                ) AS _f_rev,
                toUInt8(0) AS _f_answered,
                if(0, toFloat64OrZero(visitParamExtractString(property_paths, 'score')), 0.) AS _f_score,
                if(user_id != '', user_id, anonymous_id) AS _id
              FROM {database}.events
              WHERE (type IN ('track', 'page', 'screen') AND timestamp >= toDateTime(1698796800) AND timestamp < toDateTime(1701388800))
                AND device_type != 'bot'
            ) AS e
            ANY LEFT JOIN (
              SELECT cityHash64(id) AS identity_key,
                cityHash64(person) AS linked_person,
                person AS linked_id
              FROM (
                SELECT id,
                  if(t2 != '', t2, t1) AS person
                FROM (
                  SELECT id,
                    target AS t1
                  FROM (
                    SELECT id,
                      argMinMerge(target) AS target
                    FROM {database}.identity_links
                    GROUP BY id
                  )
                ) AS a
                ANY LEFT JOIN (
                  SELECT id AS t1,
                    target AS t2
                  FROM (
                    SELECT id,
                      argMinMerge(target) AS target
                    FROM {database}.identity_links
                    GROUP BY id
                  )
                ) AS b USING t1
              )
            ) AS p USING identity_key
          )
          GROUP BY person
        )
      )
    )
  )
)
GROUP BY segment;

SELECT 0,
  groupArray((v, ex, c0, c1, finalizeAggregation(q0))),
  sum(ex),
  sum(c0),
  sum(c1),
  quantilesExactIfMerge(0.5, 0.9)(q0),
  sumMap(tupleElement(h, 1), tupleElement(h, 2))
FROM (
  SELECT value AS v,
    countIf(level = 0) AS ex,
    countIf(level >= 1) AS c0,
    countIf(level >= 2) AS c1,
    quantilesExactIfState(0.5, 0.9)(t1 - t0, level >= 2) AS q0,
    sumMap(hk, arrayMap(k -> toUInt64(1), hk)) AS h
  FROM (
    SELECT *,
      arrayFilter(
        (k, ok) -> ok = 1,
        [
          toUInt16(0 + toUInt16((t1 - t0) >= 10000) + toUInt16((t1 - t0) >= 30000) + toUInt16((t1 - t0) >= 60000) + toUInt16((t1 - t0) >= 300000) + toUInt16((t1 - t0) >= 900000) + toUInt16((t1 - t0) >= 1800000) + toUInt16((t1 - t0) >= 3600000) + toUInt16((t1 - t0) >= 10800000) + toUInt16((t1 - t0) >= 21600000) + toUInt16((t1 - t0) >= 43200000) + toUInt16((t1 - t0) >= 86400000) + toUInt16((t1 - t0) >= 172800000) + toUInt16((t1 - t0) >= 259200000) + toUInt16((t1 - t0) >= 604800000) + toUInt16((t1 - t0) >= 1209600000) + toUInt16((t1 - t0) >= 2592000000) + toUInt16((t1 - t0) >= 7776001000)),
          toUInt16(32 + toUInt16((t1 - t0) >= 10000) + toUInt16((t1 - t0) >= 30000) + toUInt16((t1 - t0) >= 60000) + toUInt16((t1 - t0) >= 300000) + toUInt16((t1 - t0) >= 900000) + toUInt16((t1 - t0) >= 1800000) + toUInt16((t1 - t0) >= 3600000) + toUInt16((t1 - t0) >= 10800000) + toUInt16((t1 - t0) >= 21600000) + toUInt16((t1 - t0) >= 43200000) + toUInt16((t1 - t0) >= 86400000) + toUInt16((t1 - t0) >= 172800000) + toUInt16((t1 - t0) >= 259200000) + toUInt16((t1 - t0) >= 604800000) + toUInt16((t1 - t0) >= 1209600000) + toUInt16((t1 - t0) >= 2592000000) + toUInt16((t1 - t0) >= 7776001000))
        ],
        [toUInt8(level >= 2), toUInt8(level >= 2)]
      ) AS hk
    FROM (
      SELECT person,
        level,
        if(level > 0, T[bitAnd(starts[best], 4294967295)], 0) AS t0,
        if(level > 1, T[bitAnd(p1[best], 4294967295)], 0) AS t1,
        if(level > 0, ci[bitAnd(starts[best], 4294967295)], 0) AS ix0,
        if(level > 1, ci[bitAnd(p1[best], 4294967295)], 0) AS ix1,
        '' AS value
      FROM (
        SELECT *,
          arrayEnumerate(times) AS ci,
          times AS T,
          m AS M,
          ci AS idx,
          arrayMap(
            (t, i) -> bitOr(
              bitShiftLeft(toUInt64(least(greatest(t, 1698796800000), 1701993601000) - 1698796800000), 32),
              toUInt64(i)
            ),
            T,
            idx
          ) AS K,
          arrayFilter((i, t, x) -> bitAnd(x, 1) != 0 AND t >= 1698796800000 AND t < 1701388800000, K, T, M) AS starts,
          arrayMap(s -> bitOr(bitShiftLeft(bitShiftRight(s, 32) + 604800000, 32), 4294967295), starts) AS deadlines,
          arrayFilter((k, x) -> bitAnd(x, 2) != 0, K, M) AS j1,
          arrayMap((p, d) -> arrayFirst(j -> j > p AND j <= d, j1), starts, deadlines) AS p1,
          arrayMap((a1) -> 1 + (a1 > 0), p1) AS levels,
          arrayReduce('max', levels) AS level,
          arrayFirstIndex(l -> l = level, levels) AS best
        FROM (
          SELECT person,
            arraySort((k, o) -> o, _gk, _go) AS _sk,
            arrayEnumerateUniq(_sk) AS _first,
            arrayMap(o -> bitShiftRight(o, 22), arrayFilter((x, f) -> f = 1, arraySort(_go), _first)) AS times,
            arrayMap(k -> toUInt16(bitAnd(k, 65535)), arrayFilter((x, f) -> f = 1, _sk, _first)) AS m
          FROM (
            SELECT person,
              groupArray(_o) AS _go,
              groupArray(_k) AS _gk
            FROM (
              SELECT if(linked_person != 0, linked_person, identity_key) AS person,
                _o,
                _k
              FROM (
                SELECT identity_key,
                  timestamp_ms * 4194304 + bitShiftRight(event_key, 42) AS _o,
                  bitOr(
                    bitAnd(event_key, 18446744073709486080),
                    toUInt16(toUInt16((event = 'Product Viewed')) * 1 + toUInt16((event = 'Order Completed')) * 2)
                  ) AS _k
                FROM {database}.events
                WHERE ((timestamp >= toDateTime(1698796800) AND timestamp < toDateTime(1701993601) AND ((event = 'Product Viewed') OR (event = 'Order Completed'))))
                  AND device_type != 'bot'
              ) AS e
              ANY LEFT JOIN (
                SELECT cityHash64(id) AS identity_key,
                  cityHash64(person) AS linked_person
                FROM (
                  SELECT id,
                    if(t2 != '', t2, t1) AS person
                  FROM (
                    SELECT id,
                      target AS t1
                    FROM (
                      SELECT id,
                        argMinMerge(target) AS target
                      FROM {database}.identity_links
                      GROUP BY id
                    )
                  ) AS a
                  ANY LEFT JOIN (
                    SELECT id AS t1,
                      target AS t2
                    FROM (
                      SELECT id,
                        argMinMerge(target) AS target
                      FROM {database}.identity_links
                      GROUP BY id
                    )
                  ) AS b USING t1
                )
              ) AS p USING identity_key
            )
            GROUP BY person
          )
        )
      )
      WHERE length(starts) > 0
    )
  )
  GROUP BY v
);

SELECT DISTINCT event
FROM {database}.events
WHERE type IN ('track', 'page', 'screen')
  AND device_type != 'bot'
  AND timestamp >= toDateTime(1698796800)
  AND timestamp < toDateTime(1701388800)
  AND event IN ('Order Completed', 'Product Viewed');

SELECT event,
  count() AS n
FROM {database}.events
WHERE type IN ('track', 'page', 'screen')
  AND device_type != 'bot'
  AND timestamp >= toDateTime(1698796800)
  AND timestamp < toDateTime(1701388800)
  AND event != ''
GROUP BY event
ORDER BY n DESC,
  event;
