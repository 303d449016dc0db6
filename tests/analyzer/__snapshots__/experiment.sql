SELECT name,
  max(version),
  argMax(definition, version),
  argMax(created_at, version)
FROM {database}.experiments
GROUP BY name
ORDER BY name;

SELECT variant,
  segment,
  count() AS n,
  sum(y),
  sum(y * y),
  sum(x),
  sum(x * x),
  sum(x * y),
  sum(crossed)
FROM (
  SELECT xv[e0] AS variant,
    xs[e0] AS segment,
    toUInt8(arrayUniq(arrayFilter(v -> v != '', xv)) > 1) AS crossed,
    arrayFirstIndex(v -> v != '', xv) AS e0,
    arrayEnumerate(times) AS _i,
    arrayResize([toUInt64(e0)], length(times), toUInt64(e0)) AS _e0,
    arrayResize([times[e0]], length(times), times[e0]) AS _t0,
    arrayFirstIndex((t, m, i, e, t0) -> bitAnd(m, 1) != 0 AND i > e AND t <= t0 + 604800000, times, xm, _i, _e0, _t0) AS c0,
    arrayResize([toUInt64(c0)], length(times), toUInt64(c0)) AS _c0,
    arrayFirstIndex((t, m, i, e, t0) -> bitAnd(m, 2) != 0 AND i > e AND t <= t0 + 604800000, times, xm, _i, _c0, _t0) AS c1,
    arrayResize([toUInt64(c1)], length(times), toUInt64(c1)) AS _c1,
    toFloat64(c0 > 0 AND c1 > 0) AS y,
    toFloat64(arrayCount((t, m, i, e, t0) -> bitAnd(m, 2) != 0 AND i < e AND t + 604800000 >= t0, times, xm, _i, _e0, _t0)) AS x
  FROM (
    SELECT person,
      arraySort((k, o) -> o, _gk, _go) AS _sk,
      arrayEnumerateUniq(_sk) AS _first,
      arrayMap(o -> bitShiftRight(o, 22), arrayFilter((x, f) -> f = 1, arraySort(_go), _first)) AS times,
      arrayFilter((x, f) -> f = 1, arraySort((x, o) -> o, _g_xv, _go), _first) AS xv,
      arrayFilter((x, f) -> f = 1, arraySort((x, o) -> o, _g_xs, _go), _first) AS xs,
      arrayFilter((x, f) -> f = 1, arraySort((x, o) -> o, _g_xm, _go), _first) AS xm
    FROM (
      SELECT person,
        groupArray(_o) AS _go,
        groupArray(_k) AS _gk,
        groupArray(_f_xv) AS _g_xv,
        groupArray(_f_xs) AS _g_xs,
        groupArray(_f_xm) AS _g_xm
      FROM (
        SELECT if(linked_person != 0, linked_person, identity_key) AS person,
          _o,
          _k,
          _f_xv,
          _f_xs,
          _f_xm
        FROM (
          SELECT identity_key,
            timestamp_ms * 4194304 + bitShiftRight(event_key, 42) AS _o,
            event_key AS _k,
            if(
              (type = 'track' AND event = 'Experiment Viewed' AND if(
                  visitParamExtractString(property_paths, 'experiment') != '',
                  visitParamExtractString(property_paths, 'experiment'),
                  visitParamExtractString(property_paths, 'experiment_id')
                ) = 'vip-offer' AND timestamp_ms >= 1772409600000 AND timestamp_ms < 1773187200000) AND has(
                ['holdout', 'offer'],
                if(
                  visitParamExtractString(property_paths, 'variant') != '',
                  visitParamExtractString(property_paths, 'variant'),
                  visitParamExtractString(property_paths, 'variation_id')
                )
              ),
              if(
                visitParamExtractString(property_paths, 'variant') != '',
                visitParamExtractString(property_paths, 'variant'),
                visitParamExtractString(property_paths, 'variation_id')
              ),
              ''
            ) AS _f_xv,
            if(
              (type = 'track' AND event = 'Experiment Viewed' AND if(
                  visitParamExtractString(property_paths, 'experiment') != '',
                  visitParamExtractString(property_paths, 'experiment'),
                  visitParamExtractString(property_paths, 'experiment_id')
                ) = 'vip-offer' AND timestamp_ms >= 1772409600000 AND timestamp_ms < 1773187200000),
              visitParamExtractString(property_paths, 'segment'),
              ''
            ) AS _f_xs,
            toUInt16(if((event = 'Product Added'), 1, 0) + if((event = 'Order Completed'), 2, 0)) AS _f_xm
          FROM {database}.events
          WHERE (((type = 'track' AND event = 'Experiment Viewed' AND if(
                    visitParamExtractString(property_paths, 'experiment') != '',
                    visitParamExtractString(property_paths, 'experiment'),
                    visitParamExtractString(property_paths, 'experiment_id')
                  ) = 'vip-offer' AND timestamp_ms >= 1772409600000 AND timestamp_ms < 1773187200000) OR ((event = 'Product Added') OR (event = 'Order Completed'))) AND timestamp_ms >= 1772409600000 - 604800000 AND timestamp_ms < 1773187200000 + 604800000)
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
  WHERE arrayExists(v -> v != '', xv)
)
GROUP BY variant,
  segment
ORDER BY variant,
  segment;

SELECT variant,
  segment,
  count() AS n,
  sum(y),
  sum(y * y),
  sum(x),
  sum(x * x),
  sum(x * y),
  sum(crossed)
FROM (
  SELECT xv[e0] AS variant,
    xs[e0] AS segment,
    toUInt8(arrayUniq(arrayFilter(v -> v != '', xv)) > 1) AS crossed,
    arrayFirstIndex(v -> v != '', xv) AS e0,
    arrayEnumerate(times) AS _i,
    arrayResize([toUInt64(e0)], length(times), toUInt64(e0)) AS _e0,
    arrayResize([times[e0]], length(times), times[e0]) AS _t0,
    arraySum((t, r, i, e, t0) -> if(i > e AND t <= t0 + 604800000, r, 0.), times, xr, _i, _e0, _t0) AS y,
    arraySum((t, r, i, e, t0) -> if(i < e AND t + 604800000 >= t0, r, 0.), times, xr, _i, _e0, _t0) AS x
  FROM (
    SELECT person,
      arraySort((k, o) -> o, _gk, _go) AS _sk,
      arrayEnumerateUniq(_sk) AS _first,
      arrayMap(o -> bitShiftRight(o, 22), arrayFilter((x, f) -> f = 1, arraySort(_go), _first)) AS times,
      arrayFilter((x, f) -> f = 1, arraySort((x, o) -> o, _g_xv, _go), _first) AS xv,
      arrayFilter((x, f) -> f = 1, arraySort((x, o) -> o, _g_xs, _go), _first) AS xs,
      arrayFilter((x, f) -> f = 1, arraySort((x, o) -> o, _g_xr, _go), _first) AS xr
    FROM (
      SELECT person,
        groupArray(_o) AS _go,
        groupArray(_k) AS _gk,
        groupArray(_f_xv) AS _g_xv,
        groupArray(_f_xs) AS _g_xs,
        groupArray(_f_xr) AS _g_xr
      FROM (
        SELECT if(linked_person != 0, linked_person, identity_key) AS person,
          _o,
          _k,
          _f_xv,
          _f_xs,
          _f_xr
        FROM (
          SELECT identity_key,
            timestamp_ms * 4194304 + bitShiftRight(event_key, 42) AS _o,
            event_key AS _k,
            if(
              (type = 'track' AND event = 'Experiment Viewed' AND if(
                  visitParamExtractString(property_paths, 'experiment') != '',
                  visitParamExtractString(property_paths, 'experiment'),
                  visitParamExtractString(property_paths, 'experiment_id')
                ) = 'vip-offer' AND timestamp_ms >= 1772409600000 AND timestamp_ms < 1773187200000) AND has(
                ['holdout', 'offer'],
                if(
                  visitParamExtractString(property_paths, 'variant') != '',
                  visitParamExtractString(property_paths, 'variant'),
                  visitParamExtractString(property_paths, 'variation_id')
                )
              ),
              if(
                visitParamExtractString(property_paths, 'variant') != '',
                visitParamExtractString(property_paths, 'variant'),
                visitParamExtractString(property_paths, 'variation_id')
              ),
              ''
            ) AS _f_xv,
            if(
              (type = 'track' AND event = 'Experiment Viewed' AND if(
                  visitParamExtractString(property_paths, 'experiment') != '',
                  visitParamExtractString(property_paths, 'experiment'),
                  visitParamExtractString(property_paths, 'experiment_id')
                ) = 'vip-offer' AND timestamp_ms >= 1772409600000 AND timestamp_ms < 1773187200000),
              visitParamExtractString(property_paths, 'segment'),
              ''
            ) AS _f_xs,
            if(
              type = 'track' AND event = 'Order Completed',
              toFloat64OrZero(visitParamExtractString(property_paths, 'revenue')),
              0.
            ) AS _f_xr
          FROM {database}.events
          WHERE (((type = 'track' AND event = 'Experiment Viewed' AND if(
                    visitParamExtractString(property_paths, 'experiment') != '',
                    visitParamExtractString(property_paths, 'experiment'),
                    visitParamExtractString(property_paths, 'experiment_id')
                  ) = 'vip-offer' AND timestamp_ms >= 1772409600000 AND timestamp_ms < 1773187200000) OR ((type = 'track' AND event = 'Order Completed'))) AND timestamp_ms >= 1772409600000 - 604800000 AND timestamp_ms < 1773187200000 + 604800000)
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
  WHERE arrayExists(v -> v != '', xv)
)
GROUP BY variant,
  segment
ORDER BY variant,
  segment;
