SELECT 0,
  groupArray((v, ex, c0, c1, c2, finalizeAggregation(q0), finalizeAggregation(q1))),
  sum(ex),
  sum(c0),
  sum(c1),
  sum(c2),
  quantilesExactIfMerge(0.5, 0.9)(q0),
  quantilesExactIfMerge(0.5, 0.9)(q1),
  sumMap(tupleElement(h, 1), tupleElement(h, 2))
FROM (
  SELECT value AS v,
    countIf(level = 0) AS ex,
    countIf(level >= 1) AS c0,
    countIf(level >= 2) AS c1,
    countIf(level >= 3) AS c2,
    quantilesExactIfState(0.5, 0.9)(t1 - t0, level >= 2) AS q0,
    quantilesExactIfState(0.5, 0.9)(t2 - t1, level >= 3) AS q1,
    sumMap(hk, arrayMap(k -> toUInt64(1), hk)) AS h
  FROM (
    SELECT *,
      arrayFilter(
        (k, ok) -> ok = 1,
        [
          toUInt16(0 + toUInt16((t1 - t0) >= 10000) + toUInt16((t1 - t0) >= 30000) + toUInt16((t1 - t0) >= 60000) + toUInt16((t1 - t0) >= 300000) + toUInt16((t1 - t0) >= 900000) + toUInt16((t1 - t0) >= 1800000) + toUInt16((t1 - t0) >= 3600000) + toUInt16((t1 - t0) >= 10800000) + toUInt16((t1 - t0) >= 21600000) + toUInt16((t1 - t0) >= 43200000) + toUInt16((t1 - t0) >= 86400000) + toUInt16((t1 - t0) >= 172800000) + toUInt16((t1 - t0) >= 259200000) + toUInt16((t1 - t0) >= 604800000) + toUInt16((t1 - t0) >= 1209600000) + toUInt16((t1 - t0) >= 2592000000) + toUInt16((t1 - t0) >= 7776001000)),
          toUInt16(32 + toUInt16((t2 - t1) >= 10000) + toUInt16((t2 - t1) >= 30000) + toUInt16((t2 - t1) >= 60000) + toUInt16((t2 - t1) >= 300000) + toUInt16((t2 - t1) >= 900000) + toUInt16((t2 - t1) >= 1800000) + toUInt16((t2 - t1) >= 3600000) + toUInt16((t2 - t1) >= 10800000) + toUInt16((t2 - t1) >= 21600000) + toUInt16((t2 - t1) >= 43200000) + toUInt16((t2 - t1) >= 86400000) + toUInt16((t2 - t1) >= 172800000) + toUInt16((t2 - t1) >= 259200000) + toUInt16((t2 - t1) >= 604800000) + toUInt16((t2 - t1) >= 1209600000) + toUInt16((t2 - t1) >= 2592000000) + toUInt16((t2 - t1) >= 7776001000)),
          toUInt16(64 + toUInt16((t2 - t0) >= 10000) + toUInt16((t2 - t0) >= 30000) + toUInt16((t2 - t0) >= 60000) + toUInt16((t2 - t0) >= 300000) + toUInt16((t2 - t0) >= 900000) + toUInt16((t2 - t0) >= 1800000) + toUInt16((t2 - t0) >= 3600000) + toUInt16((t2 - t0) >= 10800000) + toUInt16((t2 - t0) >= 21600000) + toUInt16((t2 - t0) >= 43200000) + toUInt16((t2 - t0) >= 86400000) + toUInt16((t2 - t0) >= 172800000) + toUInt16((t2 - t0) >= 259200000) + toUInt16((t2 - t0) >= 604800000) + toUInt16((t2 - t0) >= 1209600000) + toUInt16((t2 - t0) >= 2592000000) + toUInt16((t2 - t0) >= 7776001000))
        ],
        [toUInt8(level >= 2), toUInt8(level >= 3), toUInt8(level >= 3)]
      ) AS hk
    FROM (
      SELECT person,
        level,
        if(level > 0, T[bitAnd(starts[best], 4294967295)], 0) AS t0,
        if(level > 1, T[bitAnd(p1[best], 4294967295)], 0) AS t1,
        if(level > 2, T[bitAnd(p2[best], 4294967295)], 0) AS t2,
        if(level > 0, ci[bitAnd(starts[best], 4294967295)], 0) AS ix0,
        if(level > 1, ci[bitAnd(p1[best], 4294967295)], 0) AS ix1,
        if(level > 2, ci[bitAnd(p2[best], 4294967295)], 0) AS ix2,
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
          arrayFilter((k, x) -> bitAnd(x, 4) != 0, K, M) AS j2,
          arrayMap(
            (p, d) -> arrayFirst(j -> bitAnd(j, 4294967295) = bitAnd(p, 4294967295) + 1 AND j <= d, j1),
            starts,
            deadlines
          ) AS p1,
          arrayMap(
            (p, d) -> if(
              p = 0,
              0,
              arrayFirst(
                j -> bitAnd(j, 4294967295) = bitAnd(p, 4294967295) + 1 AND j <= d AND j >= bitShiftLeft(bitShiftRight(p, 32) + 60000, 32),
                j2
              )
            ),
            p1,
            deadlines
          ) AS p2,
          arrayMap((a1, a2) -> 1 + (a1 > 0) + (a2 > 0), p1, p2) AS levels,
          arrayReduce('max', levels) AS level,
          arrayFirstIndex(l -> l = level, levels) AS best
        FROM (
          SELECT person,
            arraySort((k, o) -> o, _gk, _go) AS _sk,
            arrayEnumerateUniq(_sk) AS _first,
            arrayMap(o -> bitShiftRight(o, 22), arrayFilter((x, f) -> f = 1, arraySort(_go), _first)) AS times,
            arrayFilter((x, f) -> f = 1, arraySort((x, o) -> o, _g_beh, _go), _first) AS beh,
            arrayMap(k -> toUInt16(bitAnd(k, 65535)), arrayFilter((x, f) -> f = 1, _sk, _first)) AS m
          FROM (
            SELECT person,
              groupArray(_o) AS _go,
              groupArray(_k) AS _gk,
              groupArray(_f_beh) AS _g_beh
            FROM (
              SELECT if(linked_person != 0, linked_person, identity_key) AS person,
                _o,
                _k,
                _f_beh
              FROM (
                SELECT identity_key,
                  timestamp_ms * 4194304 + bitShiftRight(event_key, 42) AS _o,
                  bitOr(
                    bitAnd(event_key, 18446744073709486080),
                    toUInt16(toUInt16((event = 'Product Viewed')) * 1 + toUInt16((event = 'Product Added' AND match(visitParamExtractString(property_paths, 'price'), '^[0-9]'))) * 2 + toUInt16((event = 'Order Completed')) * 4)
                  ) AS _k,
                  toUInt8(type IN ('track', 'page', 'screen')) AS _f_beh
                FROM {database}.events
                WHERE ((timestamp >= toDateTime(1698796800) AND timestamp < toDateTime(1701993601) AND (type IN ('track', 'page', 'screen'))))
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
  AND event IN ('Order Completed', 'Product Added', 'Product Viewed');

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
