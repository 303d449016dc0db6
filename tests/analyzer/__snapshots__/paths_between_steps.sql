SELECT total,
  arrayFilter((x, k) -> tupleElement(x, 1) <= k, ranked, arrayResize([kth], length(ranked), kth)) AS ranked
FROM (
  SELECT total,
    ranked,
    tupleElement(ranked[least(20, length(ranked))], 1) AS kth
  FROM (
    SELECT sum(c) AS total,
      arraySort(groupArray((-toInt64(c), path))) AS ranked
    FROM (
      SELECT path,
        count() AS c
      FROM (
        SELECT arrayConcat(arraySlice(E, 1, 5 - 1), [cityHash64('(the next step)')]) AS path,
          arrayConcat(arraySlice(ET, 1, 5 - 1), [t_next]) AS at
        FROM (
          SELECT *,
            arrayMap(
              (e, p, s) -> s = 1 OR e != p,
              next_el,
              arrayPopBack(arrayPushFront(next_el, next_el[1])),
              arrayMap(i -> toUInt8(i = 1), arrayEnumerate(next_el))
            ) AS keep,
            arrayFilter((x, k) -> k, next_el, keep) AS E,
            arrayFilter((x, k) -> k, next_t, keep) AS ET
          FROM (
            SELECT *,
              t1 AS t_next
            FROM (
              SELECT person,
                level,
                if(level > 0, T[bitAnd(starts[best], 4294967295)], 0) AS t0,
                if(level > 1, T[bitAnd(p1[best], 4294967295)], 0) AS t1,
                if(level > 2, T[bitAnd(p2[best], 4294967295)], 0) AS t2,
                if(level > 0, ci[bitAnd(starts[best], 4294967295)], 0) AS ix0,
                if(level > 1, ci[bitAnd(p1[best], 4294967295)], 0) AS ix1,
                if(level > 2, ci[bitAnd(p2[best], 4294967295)], 0) AS ix2,
                '' AS value,
                arrayFilter((x, p) -> p = 1, arraySlice(el, ix0 + 1, ix1 - ix0 - 1), arraySlice(pe, ix0 + 1, ix1 - ix0 - 1)) AS next_el,
                arrayFilter((x, p) -> p = 1, arraySlice(times, ix0 + 1, ix1 - ix0 - 1), arraySlice(pe, ix0 + 1, ix1 - ix0 - 1)) AS next_t
              FROM (
                SELECT *,
                  arrayFilter((i, k) -> k != 0, arrayEnumerate(times), m) AS ci,
                  arrayFilter((t, k) -> k != 0, times, m) AS T,
                  arrayFilter((x, k) -> k != 0, m, m) AS M,
                  arrayEnumerate(T) AS idx,
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
                  arrayMap((p, d) -> arrayFirst(j -> j > p AND j <= d, j1), starts, deadlines) AS p1,
                  arrayMap((p, d) -> if(p = 0, 0, arrayFirst(j -> j > p AND j <= d, j2)), p1, deadlines) AS p2,
                  arrayMap((a1, a2) -> 1 + (a1 > 0) + (a2 > 0), p1, p2) AS levels,
                  arrayReduce('max', levels) AS level,
                  arrayFirstIndex(l -> l = level, levels) AS best
                FROM (
                  SELECT person,
                    arraySort((k, o) -> o, _gk, _go) AS _sk,
                    arrayEnumerateUniq(_sk) AS _first,
                    arrayMap(o -> bitShiftRight(o, 22), arrayFilter((x, f) -> f = 1, arraySort(_go), _first)) AS times,
                    arrayFilter((x, f) -> f = 1, arraySort((x, o) -> o, _g_el, _go), _first) AS el,
                    arrayFilter((x, f) -> f = 1, arraySort((x, o) -> o, _g_pe, _go), _first) AS pe,
                    arrayMap(k -> toUInt16(bitAnd(k, 65535)), arrayFilter((x, f) -> f = 1, _sk, _first)) AS m
                  FROM (
                    SELECT person,
                      groupArray(_o) AS _go,
                      groupArray(_k) AS _gk,
                      groupArray(_f_el) AS _g_el,
                      groupArray(_f_pe) AS _g_pe
                    FROM (
                      SELECT if(linked_person != 0, linked_person, identity_key) AS person,
                        _o,
                        _k,
                        _f_el,
                        _f_pe
                      FROM (
                        SELECT identity_key,
                          timestamp_ms * 4194304 + bitShiftRight(event_key, 42) AS _o,
                          bitOr(
                            bitAnd(event_key, 18446744073709486080),
                            toUInt16(toUInt16((event = 'Product Viewed')) * 1 + toUInt16((event = 'Product Added' AND match(visitParamExtractString(property_paths, 'price'), '^[0-9]'))) * 2 + toUInt16((event = 'Order Completed')) * 4)
                          ) AS _k,
                          cityHash64(if(type = 'page', page_path, event)) AS _f_el,
                          toUInt8(type IN ('track', 'page', 'screen')) AS _f_pe
                        FROM {database}.events
                        WHERE ((timestamp >= toDateTime(1698796800) AND timestamp < toDateTime(1701993601) AND ((event = 'Product Viewed') OR (event = 'Product Added' AND match(visitParamExtractString(property_paths, 'price'), '^[0-9]')) OR (event = 'Order Completed'))) OR (timestamp >= toDateTime(1698796800) AND timestamp < toDateTime(1701993601) AND (type IN ('track', 'page', 'screen'))))
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
            WHERE level > 1
          )
        )
      )
      GROUP BY path
    )
  )
);

SELECT cityHash64('…'),
  cityHash64('(end)'),
  cityHash64('(no further events)'),
  cityHash64('(the next step)');

SELECT total,
  arrayFilter((x, k) -> tupleElement(x, 1) <= k, ranked, arrayResize([kth], length(ranked), kth)) AS ranked
FROM (
  SELECT total,
    ranked,
    tupleElement(ranked[least(500, length(ranked))], 1) AS kth
  FROM (
    SELECT sum(c) AS total,
      arraySort(groupArray((-toInt64(c), i, source, target, seconds))) AS ranked
    FROM (
      SELECT i,
        path[i] AS source,
        if(i < length(path), path[i + 1], cityHash64('(end)')) AS target,
        count() AS c,
        avgIf(
          at[i + 1] - at[i],
          i < length(path) AND at[i + 1] >= at[i] AND path[i + 1] != cityHash64('…') AND path[i] != cityHash64('…')
        ) AS seconds
      FROM (
        SELECT path,
          at,
          arrayJoin(arrayEnumerate(path)) AS i
        FROM (
          SELECT arrayConcat(arraySlice(E, 1, 5 - 1), [cityHash64('(the next step)')]) AS path,
            arrayConcat(arraySlice(ET, 1, 5 - 1), [t_next]) AS at
          FROM (
            SELECT *,
              arrayMap(
                (e, p, s) -> s = 1 OR e != p,
                next_el,
                arrayPopBack(arrayPushFront(next_el, next_el[1])),
                arrayMap(i -> toUInt8(i = 1), arrayEnumerate(next_el))
              ) AS keep,
              arrayFilter((x, k) -> k, next_el, keep) AS E,
              arrayFilter((x, k) -> k, next_t, keep) AS ET
            FROM (
              SELECT *,
                t1 AS t_next
              FROM (
                SELECT person,
                  level,
                  if(level > 0, T[bitAnd(starts[best], 4294967295)], 0) AS t0,
                  if(level > 1, T[bitAnd(p1[best], 4294967295)], 0) AS t1,
                  if(level > 2, T[bitAnd(p2[best], 4294967295)], 0) AS t2,
                  if(level > 0, ci[bitAnd(starts[best], 4294967295)], 0) AS ix0,
                  if(level > 1, ci[bitAnd(p1[best], 4294967295)], 0) AS ix1,
                  if(level > 2, ci[bitAnd(p2[best], 4294967295)], 0) AS ix2,
                  '' AS value,
                  arrayFilter((x, p) -> p = 1, arraySlice(el, ix0 + 1, ix1 - ix0 - 1), arraySlice(pe, ix0 + 1, ix1 - ix0 - 1)) AS next_el,
                  arrayFilter((x, p) -> p = 1, arraySlice(times, ix0 + 1, ix1 - ix0 - 1), arraySlice(pe, ix0 + 1, ix1 - ix0 - 1)) AS next_t
                FROM (
                  SELECT *,
                    arrayFilter((i, k) -> k != 0, arrayEnumerate(times), m) AS ci,
                    arrayFilter((t, k) -> k != 0, times, m) AS T,
                    arrayFilter((x, k) -> k != 0, m, m) AS M,
                    arrayEnumerate(T) AS idx,
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
                    arrayMap((p, d) -> arrayFirst(j -> j > p AND j <= d, j1), starts, deadlines) AS p1,
                    arrayMap((p, d) -> if(p = 0, 0, arrayFirst(j -> j > p AND j <= d, j2)), p1, deadlines) AS p2,
                    arrayMap((a1, a2) -> 1 + (a1 > 0) + (a2 > 0), p1, p2) AS levels,
                    arrayReduce('max', levels) AS level,
                    arrayFirstIndex(l -> l = level, levels) AS best
                  FROM (
                    SELECT person,
                      arraySort((k, o) -> o, _gk, _go) AS _sk,
                      arrayEnumerateUniq(_sk) AS _first,
                      arrayMap(o -> bitShiftRight(o, 22), arrayFilter((x, f) -> f = 1, arraySort(_go), _first)) AS times,
                      arrayFilter((x, f) -> f = 1, arraySort((x, o) -> o, _g_el, _go), _first) AS el,
                      arrayFilter((x, f) -> f = 1, arraySort((x, o) -> o, _g_pe, _go), _first) AS pe,
                      arrayMap(k -> toUInt16(bitAnd(k, 65535)), arrayFilter((x, f) -> f = 1, _sk, _first)) AS m
                    FROM (
                      SELECT person,
                        groupArray(_o) AS _go,
                        groupArray(_k) AS _gk,
                        groupArray(_f_el) AS _g_el,
                        groupArray(_f_pe) AS _g_pe
                      FROM (
                        SELECT if(linked_person != 0, linked_person, identity_key) AS person,
                          _o,
                          _k,
                          _f_el,
                          _f_pe
                        FROM (
                          SELECT identity_key,
                            timestamp_ms * 4194304 + bitShiftRight(event_key, 42) AS _o,
                            bitOr(
                              bitAnd(event_key, 18446744073709486080),
                              toUInt16(toUInt16((event = 'Product Viewed')) * 1 + toUInt16((event = 'Product Added' AND match(visitParamExtractString(property_paths, 'price'), '^[0-9]'))) * 2 + toUInt16((event = 'Order Completed')) * 4)
                            ) AS _k,
                            cityHash64(if(type = 'page', page_path, event)) AS _f_el,
                            toUInt8(type IN ('track', 'page', 'screen')) AS _f_pe
                          FROM {database}.events
                          WHERE ((timestamp >= toDateTime(1698796800) AND timestamp < toDateTime(1701993601) AND ((event = 'Product Viewed') OR (event = 'Product Added' AND match(visitParamExtractString(property_paths, 'price'), '^[0-9]')) OR (event = 'Order Completed'))) OR (timestamp >= toDateTime(1698796800) AND timestamp < toDateTime(1701993601) AND (type IN ('track', 'page', 'screen'))))
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
              WHERE level > 1
            )
          )
        )
      )
      GROUP BY i,
        source,
        target
    )
  )
);

SELECT cityHash64('…'),
  cityHash64('(end)'),
  cityHash64('(no further events)'),
  cityHash64('(the next step)');

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
