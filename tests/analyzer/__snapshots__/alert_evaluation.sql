SELECT name,
  max(version),
  argMax(definition, version),
  argMax(created_at, version)
FROM {database}.alert_rules
GROUP BY name
ORDER BY name;

SELECT scope,
  argMax(state, written_us),
  argMax(notified, written_us),
  argMax(since, written_us),
  argMax(last_fired_notice, written_us)
FROM {database}.alert_evaluations
WHERE rule = 'orders'
GROUP BY scope;

SELECT count()
FROM {database}.segment_refreshes
WHERE segment = 'window_shoppers';

SELECT tupleElement(g, 1),
  tupleElement(g, 2),
  countIf(level >= 1),
  countIf(level >= 2)
FROM (
  SELECT *,
    arrayJoin(arrayConcat([(0, '')], arrayMap(s -> (1, s), if(empty(segs), [''], segs)))) AS g
  FROM (
    SELECT *,
      arrayStringConcat(arraySort(segs), '+') AS value
    FROM (
      SELECT person,
        level,
        if(level > 0, T[bitAnd(starts[best], 17179869183)], 0) AS t0,
        if(level > 1, T[bitAnd(p1[best], 17179869183)], 0) AS t1,
        if(level > 0, ci[bitAnd(starts[best], 17179869183)], 0) AS ix0,
        if(level > 1, ci[bitAnd(p1[best], 17179869183)], 0) AS ix1,
        '' AS _unused
      FROM (
        SELECT *,
          arrayEnumerate(times) AS ci,
          times AS T,
          m AS M,
          ci AS idx,
          arrayMap(
            (t, i) -> bitOr(
              bitShiftLeft(toUInt64(least(greatest(t, 1699747200000), 1700438401000) - 1699747200000), 34),
              toUInt64(i)
            ),
            T,
            idx
          ) AS K,
          arrayFilter((i, t, x) -> bitAnd(x, 1) != 0 AND t >= 1699747200000 AND t < 1700352000000, K, T, M) AS starts,
          arrayMap(s -> bitOr(bitShiftLeft(bitShiftRight(s, 34) + 86400000, 34), 17179869183), starts) AS deadlines,
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
                WHERE ((timestamp >= toDateTime(1699747200) AND timestamp < toDateTime(1700438401) AND ((event = 'Product Viewed') OR (event = 'Order Completed'))))
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
    ) AS f
    ANY LEFT JOIN (
      SELECT cityHash64(person_id) AS person,
        groupUniqArray(segment) AS segs
      FROM {database}.segment_members
      WHERE ((segment = 'window_shoppers' OR startsWith(segment, 'window_shoppers/')) AND refresh = (
          SELECT max(refresh)
          FROM {database}.segment_refreshes
          WHERE segment = 'window_shoppers'
        ))
      GROUP BY person
    ) AS m USING person
  )
)
GROUP BY g;

SELECT count()
FROM {database}.segment_refreshes
WHERE segment = 'window_shoppers';

SELECT tupleElement(g, 1),
  tupleElement(g, 2),
  countIf(level >= 1),
  countIf(level >= 2)
FROM (
  SELECT *,
    arrayJoin(arrayConcat([(0, '')], arrayMap(s -> (1, s), if(empty(segs), [''], segs)))) AS g
  FROM (
    SELECT *,
      arrayStringConcat(arraySort(segs), '+') AS value
    FROM (
      SELECT person,
        level,
        if(level > 0, T[bitAnd(starts[best], 17179869183)], 0) AS t0,
        if(level > 1, T[bitAnd(p1[best], 17179869183)], 0) AS t1,
        if(level > 0, ci[bitAnd(starts[best], 17179869183)], 0) AS ix0,
        if(level > 1, ci[bitAnd(p1[best], 17179869183)], 0) AS ix1,
        '' AS _unused
      FROM (
        SELECT *,
          arrayEnumerate(times) AS ci,
          times AS T,
          m AS M,
          ci AS idx,
          arrayMap(
            (t, i) -> bitOr(
              bitShiftLeft(toUInt64(least(greatest(t, 1699142400000), 1699833601000) - 1699142400000), 34),
              toUInt64(i)
            ),
            T,
            idx
          ) AS K,
          arrayFilter((i, t, x) -> bitAnd(x, 1) != 0 AND t >= 1699142400000 AND t < 1699747200000, K, T, M) AS starts,
          arrayMap(s -> bitOr(bitShiftLeft(bitShiftRight(s, 34) + 86400000, 34), 17179869183), starts) AS deadlines,
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
                WHERE ((timestamp >= toDateTime(1699142400) AND timestamp < toDateTime(1699833601) AND ((event = 'Product Viewed') OR (event = 'Order Completed'))))
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
    ) AS f
    ANY LEFT JOIN (
      SELECT cityHash64(person_id) AS person,
        groupUniqArray(segment) AS segs
      FROM {database}.segment_members
      WHERE ((segment = 'window_shoppers' OR startsWith(segment, 'window_shoppers/')) AND refresh = (
          SELECT max(refresh)
          FROM {database}.segment_refreshes
          WHERE segment = 'window_shoppers'
        ))
      GROUP BY person
    ) AS m USING person
  )
)
GROUP BY g;

SELECT count()
FROM {database}.segment_refreshes
WHERE segment = 'window_shoppers';

SELECT tupleElement(g, 1),
  tupleElement(g, 2),
  countIf(level >= 1),
  countIf(level >= 2)
FROM (
  SELECT *,
    arrayJoin(arrayConcat([(0, '')], arrayMap(s -> (1, s), if(empty(segs), [''], segs)))) AS g
  FROM (
    SELECT *,
      arrayStringConcat(arraySort(segs), '+') AS value
    FROM (
      SELECT person,
        level,
        if(level > 0, T[bitAnd(starts[best], 17179869183)], 0) AS t0,
        if(level > 1, T[bitAnd(p1[best], 17179869183)], 0) AS t1,
        if(level > 0, ci[bitAnd(starts[best], 17179869183)], 0) AS ix0,
        if(level > 1, ci[bitAnd(p1[best], 17179869183)], 0) AS ix1,
        '' AS _unused
      FROM (
        SELECT *,
          arrayEnumerate(times) AS ci,
          times AS T,
          m AS M,
          ci AS idx,
          arrayMap(
            (t, i) -> bitOr(
              bitShiftLeft(toUInt64(least(greatest(t, 1698537600000), 1699228801000) - 1698537600000), 34),
              toUInt64(i)
            ),
            T,
            idx
          ) AS K,
          arrayFilter((i, t, x) -> bitAnd(x, 1) != 0 AND t >= 1698537600000 AND t < 1699142400000, K, T, M) AS starts,
          arrayMap(s -> bitOr(bitShiftLeft(bitShiftRight(s, 34) + 86400000, 34), 17179869183), starts) AS deadlines,
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
                WHERE ((timestamp >= toDateTime(1698537600) AND timestamp < toDateTime(1699228801) AND ((event = 'Product Viewed') OR (event = 'Order Completed'))))
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
    ) AS f
    ANY LEFT JOIN (
      SELECT cityHash64(person_id) AS person,
        groupUniqArray(segment) AS segs
      FROM {database}.segment_members
      WHERE ((segment = 'window_shoppers' OR startsWith(segment, 'window_shoppers/')) AND refresh = (
          SELECT max(refresh)
          FROM {database}.segment_refreshes
          WHERE segment = 'window_shoppers'
        ))
      GROUP BY person
    ) AS m USING person
  )
)
GROUP BY g;
