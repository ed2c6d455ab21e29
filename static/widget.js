/* placeholder: widget.js */
