import type { CohortCriteria } from '../../lib/CohortCriteria';

type TextCriterion =
  | 'ageMin'
  | 'ageMax'
  | 'studyDateFrom'
  | 'studyDateTo'
  | 'text'
  | 'attrKeyword'
  | 'attrOp'
  | 'attrValue'
  | 'predModel'
  | 'predLabel'
  | 'predMinScore';

const OPS = ['EQ', 'NE', 'LT', 'LE', 'GT', 'GE', 'CONTAINS', 'EXISTS'];

/** Age range, study date range and description words of the filter panel. */
export function CriteriaFields({
  criteria,
  onChange,
}: {
  criteria: CohortCriteria;
  onChange: (key: TextCriterion, value: string) => void;
}) {
  return (
    <>
      <fieldset>
        <legend>Age at study (years)</legend>
        <div className="range">
          <label>
            From age{' '}
            <input
              type="number"
              min={0}
              max={150}
              step={1}
              value={criteria.ageMin}
              onChange={(e) => onChange('ageMin', e.target.value)}
            />
          </label>
          <label>
            To age{' '}
            <input
              type="number"
              min={0}
              max={150}
              step={1}
              value={criteria.ageMax}
              onChange={(e) => onChange('ageMax', e.target.value)}
            />
          </label>
        </div>
      </fieldset>
      <fieldset>
        <legend>Study date (shifted)</legend>
        <label>
          From date{' '}
          <input
            type="date"
            value={criteria.studyDateFrom}
            onChange={(e) => onChange('studyDateFrom', e.target.value)}
          />
        </label>
        <br />
        <label>
          To date{' '}
          <input
            type="date"
            value={criteria.studyDateTo}
            onChange={(e) => onChange('studyDateTo', e.target.value)}
          />
        </label>
      </fieldset>
      <fieldset>
        <legend>Description</legend>
        <label>
          Words in study or series description{' '}
          <input
            type="search"
            value={criteria.text}
            onChange={(e) => onChange('text', e.target.value)}
          />
        </label>
      </fieldset>
      <fieldset>
        <legend>Any DICOM attribute</legend>
        <label>
          Keyword{' '}
          <input
            value={criteria.attrKeyword}
            placeholder="ConvolutionKernel"
            onChange={(e) => onChange('attrKeyword', e.target.value)}
          />
        </label>{' '}
        <label>
          Comparison{' '}
          <select
            value={criteria.attrOp}
            onChange={(e) => onChange('attrOp', e.target.value)}
          >
            {OPS.map((op) => (
              <option key={op}>{op}</option>
            ))}
          </select>
        </label>{' '}
        <label>
          Attribute value{' '}
          <input
            value={criteria.attrValue}
            disabled={criteria.attrOp === 'EXISTS'}
            onChange={(e) => onChange('attrValue', e.target.value)}
          />
        </label>
      </fieldset>
      <fieldset>
        <legend>Model prediction</legend>
        <label>
          Model{' '}
          <input
            value={criteria.predModel}
            onChange={(e) => onChange('predModel', e.target.value)}
          />
        </label>{' '}
        <label>
          Label{' '}
          <input
            value={criteria.predLabel}
            onChange={(e) => onChange('predLabel', e.target.value)}
          />
        </label>{' '}
        <label>
          Minimum score{' '}
          <input
            type="number"
            step="0.01"
            min={0}
            max={1}
            value={criteria.predMinScore}
            onChange={(e) => onChange('predMinScore', e.target.value)}
          />
        </label>
      </fieldset>
    </>
  );
}
