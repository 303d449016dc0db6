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
        toUInt8((first_day + 7 + 1) * 86400000 <= 1698796800000) AS eligible,
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
              WHERE (type IN ('track', 'page', 'screen') AND timestamp >= toDateTime(1696118400) AND timestamp < toDateTime(1698796800))
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
